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


def test_reader_connections_of_ended_threads_are_reused_not_reopened(tmp_path):
    """Under gevent every HTTP connection is a new greenlet: a new thread here."""
    import threading

    from storage.sqlite.connections import ThreadLocalConnections

    connect(tmp_path / "db.sqlite").execute("CREATE TABLE t (x)")
    readers = ThreadLocalConnections(tmp_path / "db.sqlite")
    seen = []
    for _ in range(50):  # one after another, as short-lived request greenlets are
        t = threading.Thread(target=lambda: seen.append(readers.get().execute("SELECT COUNT(*) FROM t").fetchone()[0]))
        t.start()
        t.join()
    assert seen == [0] * 50 and readers.opened == 1
    both = [threading.Event(), threading.Event()]

    def hold(i):
        readers.get().execute("SELECT 1")
        both[i].set()
        both[1 - i].wait(10)  # alive at once: each needs its own connection

    threads = [threading.Thread(target=hold, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert readers.opened == 2
