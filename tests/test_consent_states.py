"""ConsentStates keeps what the log says of consents only under the state token they were
read with: another token hides and then replaces all of it."""

from __future__ import annotations

from consent_operator.access.consent_states import GRANTED, REVOKED, UNCONFIRMED, ConsentStates


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
