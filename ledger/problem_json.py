"""Reading an RFC 9457 problem from an HTTP response: what every client of the operator,
the PDS or a service does with an error answer."""

from __future__ import annotations

from typing import Any

import requests


def problem_of(resp: requests.Response) -> dict[str, Any]:
    """The response's problem object; for a body that is not JSON (a proxy's or a crashed
    worker's page), one made of its status and the start of its text."""
    try:
        problem = resp.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        return {"status": resp.status_code, "title": resp.reason or f"HTTP {resp.status_code}", "detail": resp.text[:200]}
    return problem


def unreachable(url: str, exc: requests.RequestException) -> str:
    """Why a server at `url` did not answer, in words (not the HTTP library's internals)."""
    if isinstance(exc, requests.Timeout):
        return f"{url} did not answer in time"
    if isinstance(exc, requests.ConnectionError):
        return f"nothing answers at {url} — is `mydata up` running?"
    return f"{url}: {type(exc).__name__}"
