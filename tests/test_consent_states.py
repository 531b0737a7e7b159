"""ConsentStates keeps what the log says of consents only under the state token they were
read with: another token hides and then replaces all of it."""

from __future__ import annotations

from consent_operator.access.consent_states import GRANTED, REVOKED, UNCONFIRMED, ConsentStates
from storage.directory import IndexedConsent


def test_states_are_answered_only_under_the_token_they_were_read_with():
    states = ConsentStates()
    assert states.get("t1", ["0xa"]) is None  # nothing kept yet
    states.keep("t1", {"0xa": GRANTED, "0xb": REVOKED})
    assert states.get("t1", ["0xb", "0xa"]) == [REVOKED, GRANTED]
    assert states.get("t1", []) == []
    assert states.get("t2", ["0xa"]) is None  # a grant or revocation since: read again


def test_a_consent_not_kept_is_read_again_with_all_the_others():
    states = ConsentStates()
    states.keep("t1", {"0xa": GRANTED})
    assert states.get("t1", ["0xa", "0xc"]) is None


def test_another_token_replaces_what_was_kept():
    states = ConsentStates()
    states.keep("t1", {"0xa": GRANTED})
    states.keep("t2", {"0xb": UNCONFIRMED})
    assert states.get("t2", ["0xa"]) is None and states.get("t2", ["0xb"]) == [UNCONFIRMED]
    assert states.get("t1", ["0xa"]) is None


def test_past_its_bound_it_starts_again():
    states = ConsentStates(max_kept=2)
    states.keep("t1", {"0xa": GRANTED, "0xb": GRANTED})
    states.keep("t1", {"0xc": REVOKED})
    assert states.get("t1", ["0xa"]) is None and states.get("t1", ["0xc"]) == [REVOKED]


def test_held_consents_are_answered_only_under_their_token_and_leave_with_it():
    states, held = ConsentStates(), [IndexedConsent("0xa", "svc", "cit", [], 0)]
    assert states.held("t1", "cit", "svc") is None
    states.keep_held("t1", "cit", "svc", held)
    assert states.held("t1", "cit", "svc") == held and states.held("t1", "cit", "other") is None
    assert states.held("t2", "cit", "svc") is None
    states.keep("t2", {"0xb": GRANTED})
    assert states.held("t2", "cit", "svc") is None and states.held("t1", "cit", "svc") is None


def test_held_consents_count_towards_the_bound():
    states = ConsentStates(max_kept=2)
    states.keep("t1", {"0xa": GRANTED})
    states.keep_held("t1", "cit", "svc", [])
    states.keep_held("t1", "cit", "other", [])
    assert states.held("t1", "cit", "svc") is None and states.held("t1", "cit", "other") == []
    assert states.get("t1", ["0xa"]) is None
