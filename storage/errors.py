"""Failures of a storage backend, as the services' callers see them."""

from __future__ import annotations

from ledger.errors import MyDataError


class StorageUnavailable(MyDataError):
    """The database cannot be reached (restarting, network cut, out of connections): the
    request did nothing durable and may be retried shortly (HTTP 503)."""

    problem_type = "storage-unavailable"


class DatabaseUrlError(MyDataError, ValueError):
    """A --database-url this project cannot use."""

    problem_type = "bad-database-url"
