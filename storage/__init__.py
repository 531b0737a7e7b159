"""Where the services keep their state: one package per backend behind the interfaces the
services use.

- `sqlite/` — the embedded default (`scripts/run`, `mydata demo`, one host): files in a
  data directory, WAL, fsynced commits.
- `postgres/` — the shared store of several replicas (psycopg 3 with a connection pool
  per process, created after gunicorn forks; schema migrations in `postgres/migrations`).
- `database.py` — which backend a `--database-url` (or MYDATA_DATABASE_URL) names.

The interfaces live with the code that consumes them (e.g. `ledger.request_auth.
ReplayStore`); `tests/test_storage_conformance.py` is the one suite every backend passes.
"""
