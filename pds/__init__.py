"""The personal data store: encrypted CV areas with version history and wrapped data keys.

It never sees plaintext or keys: it stores envelopes sealed on the citizen's (or a
service's) side and data keys wrapped for their holders.
"""
