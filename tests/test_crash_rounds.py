"""Kill -9 under load (bench/crash_rounds.py, four rounds: an operator worker, the log
writer, a PDS worker, the whole PDS): no acknowledged write is lost, no client gets an
HTTP 500, and the audit of the log passes afterwards."""

from bench.crash_rounds import REPLICATED_TARGETS, TARGETS, run


def test_four_rounds_of_sigkill_lose_nothing_acknowledged_and_answer_no_500(tmp_path):
    report = run(len(TARGETS), tmp_path)
    assert report["lost"] == []
    assert report["acknowledged"] > 0 and report["statuses"].get("read ok", 0) > 0
    assert 500 not in report["statuses"], report["examples"]
    assert report["restarts"] == {"pds": 1}
    assert report["audited_size"] > 0


def test_killing_replicas_and_the_sequencer_behind_haproxy_loses_nothing_and_the_others_keep_serving(tmp_path, pg_url):
    """Two operator and two PDS replicas over PostgreSQL, each pair behind HAProxy (the stack
    of `mydata up --replicas 2`): rounds under load kill one whole replica (its gunicorn
    arbiter and workers), then the process holding the log's sequencer lock (a replica's log
    writer; another process takes it over), then a whole replica again."""
    report = run(3, tmp_path, REPLICATED_TARGETS, replicas=2, database_url=pg_url)
    assert report["lost"] == []
    assert report["acknowledged"] > 0 and report["statuses"].get("read ok", 0) > 0
    assert 500 not in report["statuses"], report["examples"]
    assert sum(n for name, n in report["restarts"].items() if name.startswith(("operator-", "pds-"))) == 2
    assert report["audited_size"] > 0
