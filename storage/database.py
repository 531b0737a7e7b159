"""Which backend a database URL names: `sqlite:///path` (the default: files in the data
directory) or `postgresql://user@host:port/db` (shared by replicas).

The URL comes from `--database-url` or the MYDATA_DATABASE_URL environment variable.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from .errors import DatabaseUrlError

ENV = "MYDATA_DATABASE_URL"
SCHEMES = ("sqlite", "postgresql", "postgres")


def database_url(given: str | None = None) -> str | None:
    """`given`, else the environment's URL, else None (SQLite in the data directory);
    DatabaseUrlError if it names no backend we have."""
    url = given or os.environ.get(ENV) or None
    if url is not None and urlsplit(url).scheme not in SCHEMES:
        raise DatabaseUrlError(f"unsupported database URL scheme in {redacted(url)!r} (use sqlite:///path or postgresql://…)")
    return url


def is_postgres(url: str | None) -> bool:
    return url is not None and urlsplit(url).scheme in ("postgresql", "postgres")


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()
