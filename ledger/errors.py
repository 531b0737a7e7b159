"""The one error hierarchy: every failure this project raises on purpose is a `MyDataError`.

Each class names its stable RFC 9457 problem type (`problem_type`, the last part of the
type URI); the HTTP layers turn any MyDataError into problem+json in one place
(`httpkit/problems.py`), the command line into one line and exit status 1, the citizen app
into its error page. Anything else that escapes is a bug, and is allowed to look like one.
"""

from __future__ import annotations


class MyDataError(Exception):
    """Base of every expected failure."""

    problem_type = "error"
