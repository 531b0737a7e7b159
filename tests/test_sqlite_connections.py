"""SQLite connections: a fresh database opened by several processes at once (gunicorn's
workers starting) comes up in WAL mode in every one of them."""

import multiprocessing

from storage.sqlite.connections import connect


def _open(path, barrier, results):
    barrier.wait()
    conn = connect(path)
    conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
    results.put(conn.execute("PRAGMA journal_mode").fetchone()[0])


def test_processes_opening_a_fresh_database_at_once_all_get_wal(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for round_ in range(5):
        path, barrier, results = tmp_path / f"fresh{round_}.sqlite", ctx.Barrier(6), ctx.Queue()
        procs = [ctx.Process(target=_open, args=(path, barrier, results)) for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(30)
        assert [p.exitcode for p in procs] == [0] * 6
        assert [results.get(timeout=5) for _ in procs] == ["wal"] * 6
