"""A PDS that lies: old data served as current, a dropped newest version and a corrupted blob
are each refused with a named error, by the service's SDK and by the citizen's own client."""

from __future__ import annotations

import sqlite3

import pytest

from ledger import citizen
from pds.client import CitizenPds
from pds.envelope import StaleEnvelope

from .worlds import World


def _job(n: int) -> list[dict]:
    return [{"name": f"Employer {n}", "position": "Developer"}]


@pytest.fixture
def three_versions(node, tmp_path):
    """`work` at version 3, read by the service and by the citizen (both have seen 3)."""
    world = World(node, tmp_path, release_cache_seconds=0)  # every read goes to the PDS
    world.consent([{"area": "work", "access": "read"}])
    pds = CitizenPds(world.wallet, world.pds_url, citizen.OperatorClient(world.op.url))
    assert [pds.write("work", _job(n)) for n in (2, 3)] == [2, 3]
    assert world.service.read_area(world.cid, "work") == _job(3) and pds.read("work") == _job(3)
    db = sqlite3.connect(tmp_path / "pds" / "pds.sqlite", isolation_level=None)
    yield world, pds, db
    db.close()
    world.close()


def _blob(db, version: int) -> str:
    return db.execute("SELECT blob FROM versions WHERE area='work' AND version=?", (version,)).fetchone()[0]


@pytest.mark.parametrize("node", ["embedded"], indirect=True)
def test_old_data_served_as_the_latest_version_is_refused(three_versions):
    world, pds, db = three_versions
    db.execute("UPDATE versions SET blob=? WHERE area='work' AND version=3", (_blob(db, 1),))  # v1's envelope as "v3"
    with pytest.raises(StaleEnvelope, match="sealed as version 1"):
        world.service.read_area(world.cid, "work")
    with pytest.raises(StaleEnvelope, match="sealed as version 1"):
        pds.read("work")


@pytest.mark.parametrize("node", ["embedded"], indirect=True)
def test_a_dropped_newest_version_is_refused_by_readers_who_saw_it(three_versions):
    world, pds, db = three_versions
    db.execute("DELETE FROM versions WHERE area='work' AND version=3")  # the PDS now says 2 is the latest
    with pytest.raises(StaleEnvelope, match="version 3 was seen before"):
        world.service.read_area(world.cid, "work")
    with pytest.raises(StaleEnvelope, match="version 3 was seen before"):
        pds.read("work")
    with pytest.raises(StaleEnvelope, match="version 3 was seen before"):
        pds.write("work", _job(4))  # nor is a write built on the rolled-back state


@pytest.mark.parametrize("node", ["embedded"], indirect=True)
def test_an_envelope_moved_to_another_area_is_refused(three_versions):
    world, pds, db = three_versions
    pds.write("skills", [{"name": "Python"}])
    skills = db.execute("SELECT blob FROM versions WHERE area='skills'").fetchone()[0]
    db.execute("UPDATE versions SET blob=? WHERE area='work' AND version=3", (skills,))
    with pytest.raises(StaleEnvelope, match="sealed for 'skills'"):
        pds.read("work")


@pytest.mark.parametrize("node", ["embedded"], indirect=True)
def test_a_corrupted_blob_is_refused_by_its_hash_before_it_is_parsed(world, tmp_path):
    db = sqlite3.connect(tmp_path / "pds" / "pds.sqlite")
    digest = db.execute("SELECT blob FROM versions WHERE area='work'").fetchone()[0]
    db.close()
    [blob] = (tmp_path / "pds" / "blobs").glob(f"*/{digest}")
    blob.write_bytes(b"{not json at all")
    resp = world.citizen_pds.get(f"{world.pds_url}/pds/v1/citizens/{world.cid}/areas/work/versions/latest")
    assert resp.status_code == 500 and resp.json()["type"].endswith("/blob-corrupt")
    world.consent([{"area": "work", "access": "read"}])
    denied = world.read()
    assert denied.status_code == 502 and denied.json()["type"].endswith("/pds-error")
