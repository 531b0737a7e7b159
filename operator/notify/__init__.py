"""Notifications to services when a consent ends (notifier.py)."""
