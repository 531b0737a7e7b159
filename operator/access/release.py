"""The release decision: may this service read or write this area of this citizen now?

Answered from the consent index and the audit log alone — never an eth_call per request.
Revocations reach the log through the chain follower (relayed ones at once, direct
on-chain ones with the next followed block). A watcher notes each new block of the node
within `head_poll_seconds`; from then on no decision is taken until that block is
followed (a decision that finds the follower lagging follows the chain first). Expiry is
judged by the later of the followed chain time and this host's clock, so a consent never
outlives its expiry while the chain waits for its next block. Every decision names the
block height it was checked at.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from httpkit.problems import Problem
from ledger import events
from ledger.lookup_keys import consent_key, expiry_key, grant_key, revocation_key
from ledger.record import TIME_FORMAT
from storage.directory import IndexedConsent

from .consent_states import GRANTED, REVOKED, UNCONFIRMED

if TYPE_CHECKING:
    from ..chain.follower import Position
    from ..runtime import OperatorRuntime

wall_clock = time.time  # this host's clock (tests replace it)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # "active", or why not: no-consent, area-not-granted, revoked, unconfirmed, expired
    consent: IndexedConsent | None
    at: Position  # the follower's position it was decided at

    @property
    def block(self) -> int:
        return self.at.block


def status_of(rt: OperatorRuntime, c: IndexedConsent, now: int) -> str:
    """active; revoked (its revocation is in the log); unconfirmed (its grant is not, until its
    block is confirmed, or no more, once a reorg orphaned that block); or expired (by followed
    chain time `now`)."""
    return _judged(log_state(rt, c.consent_id), c, now)


def _judged(state: str, c: IndexedConsent, now: int) -> str:
    if state != GRANTED:
        return state
    return "active" if now < c.expires_at else "expired"


def log_state(rt: OperatorRuntime, consent_id: str) -> str:
    """What the log says of a consent: granted, revoked or unconfirmed. Under a grant or
    revocation key the event and its withdrawal by a reorg alternate (the chain allows one of
    each per consent on a branch), so it holds while the count is odd."""
    if len(rt.log.find(revocation_key(consent_id))) % 2:
        return REVOKED
    return GRANTED if _grant_holds(rt, consent_id) else UNCONFIRMED


def _grant_holds(rt: OperatorRuntime, consent_id: str) -> bool:
    grants = rt.log.find(grant_key(consent_id))
    if grants:
        return len(grants) % 2 == 1
    # A log written before grants had their own key: the grant is the consent's first entry.
    entries = rt.log.find(consent_key(consent_id))
    return bool(entries) and events.decode(rt.log.entry(entries[0]))["type"] == events.CONSENT_GRANTED


def decide(rt: OperatorRuntime, service_id: str, citizen: str, area: str, access: str, last_read: bool = False) -> Decision:
    """The decision for `service_id` to `access` `area` of `citizen` now. The consents held come
    from the consent index, or, to allow, from those kept under the follower's state token
    (ConsentStates: a denial is decided again from the index); an expired consent's first
    denial logs its expiry. `last_read`: decide at the follower position this process read
    last, without a round trip to the log, for a caller whose log entry expects it
    (`log_access`'s `expects`) and that has no side effect before that entry."""
    position = rt.follower.last_position() if last_read else rt.follower.position()
    kept = rt.consent_states.held(position.state, citizen, service_id)
    if kept is not None:
        decision, token = _decide(rt, kept, area, access, position)
        if decision.allowed and token == position.state:
            return decision
    held = rt.directory.consents_of(citizen, service_id)
    rt.consent_states.keep_held(position.state, citizen, service_id, held)
    decision, _ = _decide(rt, held, area, access, position)
    if decision.reason == "expired":
        log_expiry_once(rt, decision.consent, decision.block)
    return decision


def _decide(rt: OperatorRuntime, held: list[IndexedConsent], area: str, access: str, position: Position) -> tuple[Decision, str]:
    """The decision from the consents `held`, and the follower state token it was taken under."""
    covering = [c for c in held if c.allows(area, access)]
    position, statuses = current_statuses(rt, covering, position)
    if not covering:
        return Decision(False, "area-not-granted" if held else "no-consent", held[0] if held else None, position), position.state
    for c, status in zip(covering, statuses):  # one status per covering consent
        if status == "active":
            if rt.config.eth_call_per_release and not rt.registry.is_active(bytes.fromhex(c.consent_id[2:])):
                continue  # the baseline asks the chain as well
            return Decision(True, "active", c, position), position.state
    reason = statuses[0] if statuses[0] in (REVOKED, UNCONFIRMED) else "expired"
    return Decision(False, reason, covering[0], position), position.state


def current_statuses(rt: OperatorRuntime, covering: list[IndexedConsent], position: Position | None = None) -> tuple[Position, list[str]]:
    """The follower's position and each consent's status, once the follower has caught up
    with every block the node was seen to have (`position`: one just read). The log states
    come from this process's ConsentStates while the follower's state token holds, else from
    one snapshot of the log (the block, chain time and revocations of one moment)."""
    ids = [c.consent_id for c in covering]
    for _ in range(3):
        position = position or rt.follower.position()
        states = None if position.lagging else rt.consent_states.get(position.state, ids)
        if states is None and not position.lagging:
            with rt.log.snapshot():
                position = rt.follower.position()
                states = None if position.lagging else [log_state(rt, cid) for cid in ids]
            if states is not None:
                rt.consent_states.keep(position.state, dict(zip(ids, states)))
        if states is not None:
            now = max(position.chain_time, int(wall_clock()))
            return position, [_judged(state, c, now) for state, c in zip(states, covering)]
        try:
            rt.follower.sync()  # the node has a block we have not followed: follow it first
        except Exception as exc:  # noqa: BLE001 - any failure to reach the chain
            raise Problem(503, "chain-unavailable", "The operator cannot follow the chain right now", str(exc)) from None
        position = None
    raise Problem(503, "chain-lagging", "The operator is catching up with the chain; try again")


def log_expiry_once(rt: OperatorRuntime, c: IndexedConsent, block: int) -> None:
    """Log `consent.expired` the first time the operator observes a consent past its expiry."""
    with rt.follower.lock:
        if rt.log.find(expiry_key(c.consent_id)):
            return
        entry = {"type": events.CONSENT_EXPIRED, "consent_id": c.consent_id, "expires_at": c.expires_at, "block": block, "time": _now()}
        rt.log.append([events.encode(entry)], keys=[[consent_key(c.consent_id), expiry_key(c.consent_id)]])


def log_access(
    rt,
    kind: str,
    service: str,
    citizen: str | None,
    area: str,
    decision: str,
    block: int,
    consent_id: str | None = None,
    claim: tuple[str, float] | None = None,
    expects: Position | None = None,
    **extra,
) -> int:
    """Append a data.read / data.written / data.denied entry; lookup keys (private to the
    operator) let the citizen's history find it, the entry itself stays pseudonymous.
    With `claim`, the append is refused (ClaimTaken) if the claim was made before; with
    `expects`, it is written only while the follower still stands at that position (else
    StaleRead: decide again)."""
    entry = {"type": kind, "service": service, "area": area, "decision": decision, "consent_id": consent_id, "block": block, "time": _now(), **extra}
    keys = ([citizen] if citizen else []) + ([consent_key(consent_id)] if consent_id else [])
    return rt.log.append([events.encode(entry)], keys=[keys], claim=claim, expects=expects.meta if expects else None)


def _now() -> str:
    return time.strftime(TIME_FORMAT, time.gmtime())  # format_time's format, without a datetime per entry
