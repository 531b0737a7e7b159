"""The audit log over HTTP in the C2SP tlog-tiles layout, plus its vkey, anchors and proofs."""

from __future__ import annotations

import base64

from flask import Blueprint, Response, jsonify, request

from httpkit.problems import Problem, bad_request
from httpkit.query_args import query_int
from ledger.tlog import tiles
from storage.log import LogError

from .http_util import runtime

bp = Blueprint("log", __name__, url_prefix="/log")

IMMUTABLE = "public, max-age=31536000, immutable"


@bp.get("/checkpoint")
def checkpoint():
    return Response(
        runtime().log.latest_checkpoint(),
        mimetype="text/plain",
        headers={"Cache-Control": "no-store", "Content-Type": "text/plain; charset=utf-8"},
    )


@bp.get("/checkpoints/<int:size>")
def checkpoint_of_size(size: int):
    """The checkpoint signed at `size`, with the witnesses' cosignatures if it was anchored."""
    log = runtime().log
    signed = log.checkpoint_at(size) if size <= log.size else None
    if signed is None:
        raise Problem(404, "checkpoint-not-found", "No checkpoint of that size", f"the log signed no checkpoint of size {size}")
    return Response(signed, headers={"Cache-Control": "no-cache", "Content-Type": "text/plain; charset=utf-8"})


@bp.get("/vkey")
def vkey():
    return Response(runtime().signer.verifier.vkey + "\n", mimetype="text/plain")


@bp.get("/tile/<path:rest>")
def tile(rest: str):
    try:
        t = tiles.parse_path(rest)
    except tiles.TileError as exc:
        raise Problem(404, "tile-not-found", "No such tile", str(exc)) from None
    log = runtime().log
    level = 0 if t.level is None else t.level
    available = tiles.tile_width_at(level, t.index, log.size)
    if t.width > available:  # a full tile needs all 256 hashes; a partial one a prefix
        raise Problem(404, "tile-not-found", "No such tile", f"tile {rest} does not exist at tree size {log.size}")
    start = t.index * tiles.TILE_WIDTH
    if t.level is None:
        body = tiles.encode_bundle(log.entries(start, start + t.width))
    else:
        body = b"".join(log.level_hashes(tiles.TILE_HEIGHT * t.level, start, start + t.width))
    return Response(body, mimetype="application/octet-stream", headers={"Cache-Control": IMMUTABLE})


@bp.get("/anchors")
def anchors():
    return jsonify(
        [
            {"size": a.size, "root": "0x" + a.root.hex(), "tx": a.tx, "block": a.block, "index": a.anchor_index}
            for a in runtime().anchorer.all()
        ]
    )


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


@bp.get("/proof/inclusion")
def inclusion():
    return _proof("index", "size", lambda log: log.inclusion_proof)


@bp.get("/proof/consistency")
def consistency():
    return _proof("old", "new", lambda log: log.consistency_proof)


def _proof(first: str, second: str, prover):
    """A proof between query parameters `first` and `second` (`second` defaults to the
    published size; an inclusion proof of an entry that is durable but not yet published
    publishes it first), served as JSON with both; a range the log cannot prove is a 400."""
    log = runtime().log
    a = query_int(request.args, first)
    if second in request.args:
        b = query_int(request.args, second)
    else:
        b = log.covering_size(a) if first == "index" else log.size
    try:
        return jsonify({first: a, second: b, "proof": _b64(prover(log)(a, b))})
    except (LogError, ValueError) as exc:
        raise bad_request(str(exc)) from None
