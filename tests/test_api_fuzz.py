"""schemathesis against the operator's and the PDS's OpenAPI documents, with requests
signed as a registered service and as a citizen (RFC 9421), so generated bodies reach the
handlers: no server error, and every response matches the documented schema."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import ignored_auth, positive_data_acceptance

from ledger.request_auth import RequestSigner

from .worlds import World

# Requests are signed by the session (a generated Signature header is replaced), so "accepts
# invalid authentication" does not apply; and a schema-valid body may still be refused for
# its meaning (a bad signature, a size beyond the log) with a 400. Both have their own tests.
NOT_APPLICABLE = [ignored_auth, positive_data_acceptance]
CITIZEN_ROUTES = ("/v1/citizens/{citizen}", "/v1/consent-requests/{id}/approve", "/v1/consent-requests/{id}/refuse", "/pds/")


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory):
    from devchain.nodes import DevNode

    tmp = tmp_path_factory.mktemp("fuzz")
    with DevNode("embedded", tmp / "chain") as node:
        world = World(node, tmp)
        world.consent([{"area": "work", "access": "read"}, {"area": "certificates", "access": "write"}])
        yield world
        world.close()


def _sessions(world: World) -> dict[str, requests.Session]:
    service, citizen = requests.Session(), requests.Session()
    service.auth = RequestSigner("service:cv-builder", world.service_seed)
    citizen.auth = RequestSigner(world.cid, world.wallet.keys.request_seed())
    return {"service": service, "citizen": citizen}


def _signed_call(case, world: World, base_url: str):
    """Sign as the citizen on the citizen's routes (with the citizen's real id), else as the service."""
    sessions = _sessions(world)
    as_citizen = case.path.startswith(CITIZEN_ROUTES) or case.path.endswith("/history")
    if "citizen" in (case.path_parameters or {}) and case.method != "DELETE":
        case.path_parameters["citizen"] = world.cid  # reach the handlers, not only "not your data"
    case.call_and_validate(base_url=base_url, session=sessions["citizen" if as_citizen else "service"], timeout=60, excluded_checks=NOT_APPLICABLE)


def _fuzz(world: World, base_url: str) -> dict[str, str]:
    """Run every operation of the service's OpenAPI document; returns the failures by operation."""
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json")
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @FUZZ
        def run(case):
            _signed_call(case, world, base_url)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collected and reported per operation
            failures[operation.label] = str(exc)[:2000]
    return failures


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)


def test_the_operator_answers_generated_requests_without_server_errors(fuzz_world):
    failures = _fuzz(fuzz_world, fuzz_world.op.url)
    assert not failures, "\n\n".join(f"{k}: {v}" for k, v in failures.items())


def test_the_pds_answers_generated_requests_without_server_errors(fuzz_world):
    failures = _fuzz(fuzz_world, fuzz_world.pds_url)
    assert not failures, "\n\n".join(f"{k}: {v}" for k, v in failures.items())
