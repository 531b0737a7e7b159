"""The release decision on its own, over a stand-in log, follower and consent index (no
chain, no server): who may read or write, when a consent stops counting, and what is logged."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from consent_operator.access import release
from consent_operator.access.consent_states import ConsentStates
from consent_operator.chain.follower import Position
from httpkit.problems import Problem
from ledger import events
from ledger.lookup_keys import consent_key, expiry_key, grant_key, revocation_key
from storage.directory import IndexedConsent

NOW = 1_900_000_000
CITIZEN, SERVICE = "citizen:" + "aa" * 32, "cv-builder"


class StandInLog:
    """Lookup keys and appended entries, in memory. Every consent's grant counts as logged
    from a confirmed block (one entry under its grant key) unless a test sets that key."""

    def __init__(self):
        self.keys: dict[str, list[int]] = {}
        self.entries: list[tuple[dict, list[str], tuple | None]] = []
        self.expected: list[dict | None] = []  # each append's `expects`
        self.snapshots = 0

    def find(self, key):
        return self.keys.get(key, [0] if key.startswith(grant_key("")) else [])

    def entry(self, index):
        return events.encode(self.entries[index][0])

    @contextmanager
    def snapshot(self):
        self.snapshots += 1
        yield

    def append(self, entries, meta=None, keys=None, claim=None, expects=None):
        self.expected.append(expects)
        for data, ks in zip(entries, keys, strict=True):
            for k in ks:
                self.keys.setdefault(k, []).append(len(self.entries))
            self.entries.append((events.decode(data), ks, claim))
        return len(self.entries) - 1


class StandInFollower:
    def __init__(self, positions):
        self.positions = list(positions)  # (block, chain time, lagging[, state token]) per call; the last repeats
        self.syncs = self.reads = 0
        self.lock = threading.Lock()
        self.fail = False
        self.on_sync = lambda: None  # what following the next block brings
        self._last: Position | None = None

    def position(self):
        self.reads += 1
        at = self.positions.pop(0) if len(self.positions) > 1 else self.positions[0]
        self._last = Position(*at) if len(at) == 4 else Position(*at, state="t0")
        return self._last

    def last_position(self):
        return self._last or self.position()

    def sync(self):
        self.syncs += 1
        if self.fail:
            raise ConnectionError("node down")
        self.on_sync()


def consent(cid="0x01", permissions=({"area": "work", "access": "read"},), expires_at=NOW + 100):
    return IndexedConsent(cid, SERVICE, CITIZEN, list(permissions), expires_at)


@pytest.fixture
def rt(monkeypatch):
    monkeypatch.setattr(release, "wall_clock", lambda: NOW)
    held: list[IndexedConsent] = []
    active_on_chain: set[str] = set()
    return SimpleNamespace(
        log=StandInLog(),
        follower=StandInFollower([(42, NOW - 5, False)]),
        directory=SimpleNamespace(held=held, consents_of=lambda citizen, service: [c for c in held if (c.citizen, c.service_id) == (citizen, service)]),
        config=SimpleNamespace(eth_call_per_release=False),
        registry=SimpleNamespace(active=active_on_chain, is_active=lambda cid: "0x" + cid.hex() in active_on_chain),
        consent_states=ConsentStates(),
    )


def new_state(rt):
    """What the follower does with every grant, revocation or withdrawal it logs: a new token."""
    at = rt.follower.position()
    rt.follower.positions = [(at.block, at.chain_time, at.lagging, at.state + "'")]


def decide(rt, area="work", access="read", service=SERVICE, citizen=CITIZEN):
    return release.decide(rt, service, citizen, area, access)


def test_without_any_consent_nothing_is_released(rt):
    d = decide(rt)
    assert (d.allowed, d.reason, d.consent, d.block) == (False, "no-consent", None, 42)


def test_a_consent_of_another_service_or_citizen_does_not_count(rt):
    rt.directory.held.append(consent())
    assert decide(rt, service="job-board").reason == "no-consent"
    assert decide(rt, citizen="citizen:" + "bb" * 32).reason == "no-consent"


@pytest.mark.parametrize("area, access", [("skills", "read"), ("work", "write")])
def test_a_consent_for_another_area_or_mode_is_not_granted(rt, area, access):
    held = consent()
    rt.directory.held.append(held)
    d = decide(rt, area, access)
    assert (d.allowed, d.reason, d.consent) == (False, "area-not-granted", held)


def test_an_active_consent_releases_at_the_followed_block(rt):
    held = consent()
    rt.directory.held.append(held)
    d = decide(rt)
    assert (d.allowed, d.reason, d.consent, d.block) == (True, "active", held, 42)
    assert rt.log.snapshots == 1 and rt.log.entries == []


def test_under_one_state_token_the_log_is_read_once_and_a_new_token_reads_it_again(rt):
    rt.directory.held.append(consent())
    assert decide(rt).allowed and decide(rt).allowed
    assert rt.log.snapshots == 1  # the second decision took the kept state
    rt.log.keys[revocation_key("0x01")] = [7]  # revoked, and so (by the follower) a new token:
    assert decide(rt).allowed  # (a token that did not change would hide it: what the follower must never do)
    new_state(rt)
    assert decide(rt).reason == "revoked" and rt.log.snapshots == 2


def test_under_one_state_token_the_consent_index_is_read_once_for_releases(rt, monkeypatch):
    rt.directory.held.append(consent())
    reads = []
    monkeypatch.setattr(rt.directory, "consents_of", lambda citizen, service: reads.append(citizen) or list(rt.directory.held))
    assert decide(rt).allowed and decide(rt).allowed and len(reads) == 1  # the second took the kept consents
    new_state(rt)
    assert decide(rt).allowed and len(reads) == 2


def test_a_consent_indexed_after_its_grant_was_followed_releases_at_once(rt):
    """The operator follows a relayed grant before it indexes the consent: the rows kept
    under the grant's token may lack it, so a denial reads the index again."""
    assert decide(rt).reason == "no-consent"  # (none kept yet: kept now, under this token)
    rt.directory.held.append(consent())  # indexed, the token unchanged
    assert decide(rt).allowed


def test_kept_consents_allow_only_under_the_token_they_were_kept_under(rt):
    rt.directory.held.append(consent())
    assert decide(rt).allowed
    rt.directory.held.clear()  # archived or erased (the log says granted still in this stand-in)
    new_state(rt)
    assert decide(rt).reason == "no-consent"


def test_kept_consents_do_not_allow_once_catching_up_brought_another_token(rt):
    rt.directory.held.append(consent())
    assert decide(rt).allowed  # kept under t0
    rt.directory.held.clear()
    rt.follower.positions = [(42, NOW, True, "t0"), (43, NOW, False, "t1")]  # lagging: the sync brings a new token
    assert decide(rt).reason == "no-consent"


def test_a_revoked_consent_releases_nothing(rt):
    rt.directory.held.append(consent())
    rt.log.keys[revocation_key("0x01")] = [7]
    assert (decide(rt).allowed, decide(rt).reason) == (False, "revoked")
    assert rt.log.entries == []  # a revocation is logged by the follower, not here


@pytest.mark.parametrize("expires_at, reason", [(NOW, "expired"), (NOW + 1, "active"), (NOW - 1, "expired")])
def test_a_consent_ends_at_its_expiry_second(rt, expires_at, reason):
    """The contract treats now == expires_at as expired; so does the operator."""
    rt.directory.held.append(consent(expires_at=expires_at))
    assert decide(rt).reason == reason


def test_expiry_is_judged_by_the_later_of_chain_time_and_this_hosts_clock(rt, monkeypatch):
    rt.directory.held.append(consent(expires_at=NOW + 10))
    rt.follower.positions = [(42, NOW + 10, False)]  # the chain is ahead of this host
    assert decide(rt).reason == "expired"
    rt.follower.positions = [(42, NOW - 100, False)]
    monkeypatch.setattr(release, "wall_clock", lambda: NOW + 10)  # this host is ahead of the chain
    assert decide(rt).reason == "expired"


def test_an_expiry_is_logged_once_under_the_consent_and_its_expiry_key(rt):
    rt.directory.held.append(consent(expires_at=NOW - 1))
    decide(rt)
    decide(rt)
    [(entry, keys, claim)] = rt.log.entries
    assert entry["type"] == events.CONSENT_EXPIRED and entry["consent_id"] == "0x01"
    assert entry["expires_at"] == NOW - 1 and entry["block"] == 42
    assert keys == [consent_key("0x01"), expiry_key("0x01")] and claim is None


def test_any_active_consent_among_several_releases(rt):
    rt.directory.held.extend([consent("0x01"), consent("0x02")])
    rt.log.keys[revocation_key("0x01")] = [3]
    d = decide(rt)
    assert (d.allowed, d.consent.consent_id) == (True, "0x02")


def test_when_none_is_active_the_first_covering_consent_names_the_reason(rt):
    rt.directory.held.extend([consent("0x01", expires_at=NOW - 1), consent("0x02")])
    rt.log.keys[revocation_key("0x02")] = [3]
    d = decide(rt)
    assert (d.allowed, d.reason, d.consent.consent_id) == (False, "expired", "0x01")
    rt.directory.held.reverse()
    assert decide(rt).reason == "revoked"


def test_a_lagging_follower_is_caught_up_before_deciding(rt):
    rt.directory.held.append(consent())
    rt.follower.positions = [(41, NOW, True), (42, NOW, False)]
    d = decide(rt)
    assert (d.allowed, d.block, rt.follower.syncs) == (True, 42, 1)


def test_a_block_noted_while_the_log_states_are_read_is_followed_before_deciding(rt):
    """The watcher may note a new block between the position a decision starts from and the
    snapshot that reads the log states: the position read inside the snapshot counts, so a
    revocation in that block denies this very release."""
    rt.directory.held.append(consent())
    rt.follower.positions = [(42, NOW, False, "t0"), (42, NOW, True, "t0"), (43, NOW, False, "t1")]
    rt.follower.on_sync = lambda: rt.log.keys.update({revocation_key("0x01"): [1]})
    d = decide(rt)
    assert (d.allowed, d.reason, d.block, rt.follower.syncs) == (False, "revoked", 43, 1)


def test_a_decision_at_the_last_read_position_makes_no_read_of_its_own(rt):
    """What a release needs is kept per process under the state token: deciding at the
    position read last (the caller's log entry expects it) costs the log no round trip."""
    rt.directory.held.append(consent())
    assert decide(rt).allowed
    reads, snapshots = rt.follower.reads, rt.log.snapshots
    d = release.decide(rt, SERVICE, CITIZEN, "work", "read", last_read=True)
    assert (d.allowed, d.at.state) == (True, "t0")
    assert (rt.follower.reads, rt.log.snapshots) == (reads, snapshots)
    assert decide(rt).allowed and rt.follower.reads == reads + 1  # without last_read: a fresh read


def test_a_follower_that_cannot_catch_up_answers_503(rt):
    rt.directory.held.append(consent())
    rt.follower.positions = [(41, NOW, True)]
    with pytest.raises(Problem) as err:
        decide(rt)
    assert (err.value.status, err.value.slug, rt.follower.syncs) == (503, "chain-lagging", 3)


def test_a_chain_that_cannot_be_reached_while_lagging_answers_503(rt):
    rt.directory.held.append(consent())
    rt.follower.positions = [(41, NOW, True)]
    rt.follower.fail = True
    with pytest.raises(Problem) as err:
        decide(rt)
    assert (err.value.status, err.value.slug) == (503, "chain-unavailable")


def test_the_baseline_mode_also_asks_the_chain(rt):
    rt.config.eth_call_per_release = True
    rt.directory.held.append(consent())
    refused = decide(rt)
    assert refused.allowed is False and refused.reason != "active"  # the chain says it is not active
    rt.registry.active.add("0x01")
    assert decide(rt).allowed is True


def test_status_of_names_revoked_before_expired(rt):
    c = consent(expires_at=NOW - 1)
    assert release.status_of(rt, c, NOW) == "expired"
    rt.log.keys[revocation_key("0x01")] = [1]
    assert release.status_of(rt, c, NOW) == "revoked"
    assert release.status_of(rt, consent(cid="0x02"), NOW) == "active"


def test_an_access_is_logged_under_the_citizen_and_the_consent_with_its_claim(rt):
    index = release.log_access(rt, events.DATA_READ, SERVICE, CITIZEN, "work", "active", 42, "0x01", claim=("nonce:k n", 9.0), version=3)
    [(entry, keys, claim)] = rt.log.entries
    assert index == 0 and claim == ("nonce:k n", 9.0)
    assert keys == [CITIZEN, consent_key("0x01")]
    assert {k: entry[k] for k in ("type", "service", "area", "decision", "consent_id", "block", "version")} == {
        "type": events.DATA_READ, "service": SERVICE, "area": "work", "decision": "active", "consent_id": "0x01", "block": 42, "version": 3,
    }


def test_an_access_logged_for_a_decision_expects_the_position_it_was_decided_at(rt):
    """Written only while the follower still stands where the decision was taken (a
    revocation committed meanwhile makes the append StaleRead: decide again)."""
    at = Position(42, NOW, False, "t0", {"follower.block": "42", "follower.state": "t0"})
    release.log_access(rt, events.DATA_READ, SERVICE, CITIZEN, "work", "active", 42, "0x01", expects=at)
    release.log_access(rt, events.DATA_DENIED, SERVICE, CITIZEN, "work", "no-consent", 42)
    assert rt.log.expected == [{"follower.block": "42", "follower.state": "t0"}, None]


def test_an_access_without_citizen_or_consent_is_logged_under_no_key(rt):
    release.log_access(rt, events.DATA_DENIED, SERVICE, None, "work", "no-consent", 42)
    [(entry, keys, _)] = rt.log.entries
    assert keys == [] and entry["consent_id"] is None


def test_refusals_name_the_consent_and_the_block_they_were_checked_at(rt):
    held = consent(expires_at=NOW - 1)
    rt.directory.held.append(held)
    assert (decide(rt).consent, decide(rt).block) == (held, 42)
    rt.log.keys[revocation_key("0x01")] = [1]
    new_state(rt)
    assert (decide(rt).reason, decide(rt).consent, decide(rt).block) == ("revoked", held, 42)


def test_the_baseline_mode_tries_every_covering_consent_on_the_chain(rt):
    rt.config.eth_call_per_release = True
    rt.directory.held.extend([consent("0x01"), consent("0x02")])
    rt.registry.active.add("0x02")  # the first is not active on chain, the second is
    d = decide(rt)
    assert (d.allowed, d.consent.consent_id) == (True, "0x02")


def test_503_answers_say_what_happened_in_plain_words(rt):
    rt.directory.held.append(consent())
    rt.follower.positions = [(41, NOW, True)]
    with pytest.raises(Problem) as lagging:
        decide(rt)
    assert (lagging.value.title, lagging.value.detail) == ("The operator is catching up with the chain; try again", "")
    rt.follower.fail = True
    with pytest.raises(Problem) as down:
        decide(rt)
    assert (down.value.title, down.value.detail) == ("The operator cannot follow the chain right now", "node down")


def test_logged_entries_carry_the_time_in_utc(rt, monkeypatch):
    import time

    monkeypatch.setattr(time, "gmtime", lambda *_: time.struct_time((2026, 11, 30, 9, 12, 5, 0, 334, 0)))
    rt.directory.held.append(consent(expires_at=NOW - 1))
    decide(rt)
    release.log_access(rt, events.DATA_READ, SERVICE, CITIZEN, "work", "active", 42, "0x01")
    assert [entry["time"] for entry, _, _ in rt.log.entries] == ["2026-11-30T09:12:05Z"] * 2


def test_a_consent_whose_grant_is_not_confirmed_yet_releases_nothing(rt):
    rt.directory.held.append(consent())
    rt.log.keys[grant_key("0x01")] = []
    rt.log.keys[consent_key("0x01")] = []
    d = decide(rt)
    assert (d.allowed, d.reason) == (False, "unconfirmed")


def test_a_grant_withdrawn_by_a_reorg_releases_nothing_until_logged_again(rt):
    rt.directory.held.append(consent())
    rt.log.keys[grant_key("0x01")] = [3, 9]  # the grant, then its withdrawal
    assert decide(rt).reason == "unconfirmed"
    rt.log.keys[grant_key("0x01")] = [3, 9, 12]  # logged again from the winning branch
    new_state(rt)
    assert decide(rt).allowed


def test_a_revocation_withdrawn_by_a_reorg_no_longer_counts(rt):
    rt.directory.held.append(consent())
    rt.log.keys[revocation_key("0x01")] = [5, 9]
    assert decide(rt).allowed
    rt.log.keys[revocation_key("0x01")] = [5, 9, 11]
    new_state(rt)
    assert decide(rt).reason == "revoked"


def _logged(rt, entry, keys):
    rt.log.append([events.encode(entry)], keys=[keys])


def test_a_log_from_before_grant_keys_counts_a_grant_that_is_the_consents_first_entry(rt):
    rt.directory.held.append(consent())
    rt.log.keys[grant_key("0x01")] = []
    grant = {"type": events.CONSENT_GRANTED, "consent_id": "0x01", "commitment": "0x02", "expires_at": NOW + 100, "signer": "0x03", "block": 1, "tx": "0x04", "log_index": 0, "time": "t"}
    _logged(rt, grant, [consent_key("0x01")])
    assert decide(rt).allowed


def test_a_log_from_before_grant_keys_counts_no_grant_when_the_first_entry_is_another(rt):
    rt.directory.held.append(consent())
    rt.log.keys[grant_key("0x01")] = []
    release.log_access(rt, events.DATA_DENIED, SERVICE, CITIZEN, "work", "unconfirmed", 42, "0x01")
    assert decide(rt).reason == "unconfirmed"
