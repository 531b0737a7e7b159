"""Statements PostgreSQL runs per release, by kind: where a PostgreSQL release's round trips go.

Starts the chain, a PDS and one operator over a throwaway PostgreSQL (as bench/releases.py
does), warms up, then logs every statement the server runs (log_statement = all) while wrk
sends releases, and prints each statement's count per release. Each statement is a round
trip and the kernel's loopback work on both sides: on 2 cores they, not the queries
themselves, bound the release rate.
Run: .venv/bin/python bench/release_statements.py [--seconds 3] [--connections 8]
"""

import argparse
import collections
import re

import psycopg
from load import measure
from releases import migrated, world

from devchain.postgres import PostgresServer

STATEMENT = re.compile(r"LOG:  (?:statement|execute [^:]*): (.*?)(?=\n\S|\Z)", re.S)


def _log_statements(pg: PostgresServer, on: bool) -> None:
    with psycopg.connect(pg.url(), autocommit=True) as conn:
        conn.execute(f"ALTER SYSTEM SET log_statement = '{'all' if on else 'none'}'")
        conn.execute("SELECT pg_reload_conf()")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=8)
    args = ap.parse_args()
    with PostgresServer() as pg:
        url = migrated(pg.create_database("statements"))
        with world(1, url, baseline=False) as w:
            measure(w.operator, w.path, w.signer, 2, args.connections, 1, 4000)  # warm up
            log = pg.folder / "server.log"
            _log_statements(pg, True)
            start = log.stat().st_size
            r = measure(w.operator, w.path, w.signer, args.seconds, args.connections, 1, 4000)
            _log_statements(pg, False)
            text = log.read_bytes()[start:].decode(errors="replace")
    releases = r.rate * args.seconds
    counts = collections.Counter(" ".join(s.split())[:100] or "(empty: a connection check)" for s in STATEMENT.findall(text))
    print(f"{releases:.0f} releases, {sum(counts.values()) / releases:.1f} statements each (under statement logging: rates are not figures)")
    for statement, n in counts.most_common():
        if n / releases >= 0.01:
            print(f"{n / releases:6.2f}  {statement}")


if __name__ == "__main__":
    main()
