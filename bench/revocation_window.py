"""How long a release can still happen after a revocation sent straight to the chain (not
through the operator): the window the README states.

A service reads one citizen's `work` from four threads as fast as it can while the
citizen's per-consent key revokes on chain. The clock starts when the node returns the
mined revocation; every release that *started* after that is counted, and the window is
the latest such start. The operator learns of the block from its watcher (a poll of the
node's head every 50 ms) and then refuses every release until its follower has logged the
block. Each round uses a new consent on the same running stack (`mydata up`).

Run: .venv/bin/python bench/revocation_window.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack_people import People  # noqa: E402
from ledger import citizen  # noqa: E402
from ledger.citizen import OperatorError  # noqa: E402
from ledger.registry import Registry  # noqa: E402
from mydata.ports import Ports
from mydata.stack import Stack  # noqa: E402


def one_round(people: People, registry: Registry) -> tuple[int, float | None]:
    """(releases that started after the revocation was mined, latest such start in seconds)."""
    consent_id = people.consent()
    starts: list[float] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                people.service.read_area(people.agent.id, "work")
                starts.append(started)
            except OperatorError:
                pass

    readers = [threading.Thread(target=read) for _ in range(4)]
    for t in readers:
        t.start()
    time.sleep(0.3)
    citizen.revoke_on_chain(people.agent.wallet, registry, consent_id)
    mined = time.monotonic()
    time.sleep(0.5)
    stop.set()
    for t in readers:
        t.join()
    late = [s - mined for s in starts if s > mined]
    return len(late), max(late) if late else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Stack(Path(tmp) / "stack", Ports.free()) as stack:
        people = People(stack, Path(tmp) / "wallet.json")
        registry = Registry(people.agent.registry.client, people.agent.registry.address)
        results = [one_round(people, registry) for _ in range(args.rounds)]
    late = sum(n for n, _ in results)
    windows = [w for _, w in results if w is not None]
    print(f"{args.rounds} direct on-chain revocations under 4 reading threads")
    print(f"releases started after the revocation was mined: {late} in {sum(1 for n, _ in results if n)} rounds")
    if windows:
        print(f"window: max {max(windows) * 1000:.0f} ms, mean {sum(windows) / len(windows) * 1000:.0f} ms (of rounds with a late release)")
    else:
        print("window: none observed (no release started after the revoking block was mined)")


if __name__ == "__main__":
    main()
