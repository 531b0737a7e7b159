"""The witness's HTTP service: `POST /add-checkpoint` per C2SP tlog-witness, and `GET /`
naming the witness and the logs it follows.

Answers follow the spec's status codes: 404 a log it does not follow, 403 no signature by
that log's key, 400 a malformed body or `old` beyond the checkpoint, 409 `old` is not the
size it last cosigned (body: that size, as text/x.tlog.size) or another root for the same
size, 422 a consistency proof that does not verify. Errors other than the 409 size answer
are RFC 9457 problems. Only a checkpoint that passes every check is stored (atomically,
durably) and cosigned.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask, Response, current_app, jsonify, request

from httpkit import problems
from httpkit.http_limits import BodyLimits
from httpkit.problems import Problem
from ledger.tlog import note
from ledger.tlog.checkpoint import Checkpoint, CheckpointError
from ledger.tlog.cosignature import Cosigner
from ledger.tlog.witness_protocol import SIZE_CONTENT_TYPE, AddCheckpoint, InconsistentTree, SizeMismatch, WitnessRequestError, check_extension
from storage.sqlite.witness import WitnessState

MAX_BODY = 16 * 1024  # 63 proof lines, a checkpoint and its signatures fit many times over


def create_app(data_dir: Path, cosigner: Cosigner, logs: list[str]) -> Flask:
    """A witness that cosigns with `cosigner` the checkpoints of the logs whose verifier keys
    are `logs` (one log per origin: the key's name)."""
    app = Flask("witness")
    verifiers = [note.Verifier.from_vkey(vkey) for vkey in logs]
    app.extensions["witness"] = {
        "cosigner": cosigner,
        "logs": {v.name: v for v in verifiers},
        "state": WitnessState(Path(data_dir) / "witness.sqlite"),
    }
    problems.install(app)
    app.post("/add-checkpoint")(add_checkpoint)
    app.get("/")(describe)
    app.wsgi_app = BodyLimits(app.wsgi_app, max_body=MAX_BODY)  # type: ignore[method-assign]
    return app


def describe():
    w = current_app.extensions["witness"]
    return jsonify({"name": w["cosigner"].key.name, "vkey": w["cosigner"].key.vkey, "logs": sorted(w["logs"])})


def add_checkpoint():
    w = current_app.extensions["witness"]
    try:
        req = AddCheckpoint.parse(request.get_data())
        text, _ = note.split(req.checkpoint)
        checkpoint = Checkpoint.parse(text)
    except (WitnessRequestError, note.NoteError, CheckpointError) as exc:
        raise Problem(400, "bad-request", "Not an add-checkpoint request", str(exc)) from None
    log_key = w["logs"].get(checkpoint.origin)
    if log_key is None:
        raise Problem(404, "unknown-log", "This witness does not follow that log", checkpoint.origin)
    try:
        note.open_note(req.checkpoint, log_key)
    except note.NoteError as exc:
        raise Problem(403, "untrusted-checkpoint", "The checkpoint is not signed by the log's key", str(exc)) from None
    try:
        w["state"].advance(checkpoint.origin, checkpoint.size, checkpoint.root, lambda size, root: check_extension(size, root, req, checkpoint))
    except WitnessRequestError as exc:
        raise Problem(400, "bad-request", "Not an add-checkpoint request", str(exc)) from None
    except SizeMismatch as exc:
        return Response(f"{exc.stored_size}\n", 409, content_type=SIZE_CONTENT_TYPE)
    except InconsistentTree as exc:
        raise Problem(exc.status, exc.problem_type, "The checkpoint does not extend the tree this witness cosigned", str(exc)) from None
    return Response(w["cosigner"].cosign(text, int(time.time())), 200, content_type="text/plain; charset=utf-8")
