"""WriterLock: one writer at a time across threads and processes, the next woken on release."""

import multiprocessing
import threading
import time

from storage.locks import WriterLock


def _hold_then_write(path, lock_path, held):
    with WriterLock(lock_path):
        held.set()
        time.sleep(0.2)  # give the parent every chance to barge in
        with open(path, "a") as f:
            f.write("child,")


def test_another_process_waits_for_the_holder(tmp_path):
    out, lock_path = tmp_path / "order.txt", tmp_path / "w.lock"
    ctx = multiprocessing.get_context("fork")
    held = ctx.Event()
    child = ctx.Process(target=_hold_then_write, args=(out, lock_path, held))
    child.start()
    assert held.wait(30)
    with WriterLock(lock_path):
        with open(out, "a") as f:
            f.write("parent")
    child.join(30)
    assert out.read_text() == "child,parent"


def test_threads_of_one_process_take_turns(tmp_path):
    lock, inside, worst = WriterLock(tmp_path / "w.lock"), [0], [0]

    def work():
        for _ in range(200):
            with lock:
                inside[0] += 1
                worst[0] = max(worst[0], inside[0])
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert worst[0] == 1
