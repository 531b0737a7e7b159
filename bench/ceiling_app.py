"""A Flask app that does no work: the HTTP ceiling for bench/http_ceiling.py."""

from flask import Flask, jsonify

app = Flask("ceiling")


@app.get("/<path:anything>")
def released(anything):
    return jsonify({"envelope": "x" * 600, "wrapped_key": "y" * 100, "checked_block": 1})
