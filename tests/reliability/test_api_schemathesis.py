"""Schemathesis against the real server's OpenAPI spec: generated requests for every operation (reads and, with
a token, writes) never get a 5xx. Bounded examples per operation so the run stays within a couple of minutes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
import api_world as world  # noqa: E402
from api_server import Server, create_token  # noqa: E402

pytestmark = pytest.mark.slow
EXAMPLES = 50


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    db = tmp_path_factory.mktemp("st") / "world.duckdb"
    world.build(db)
    token = create_token(db, "fuzzer")
    s = Server(db, rate_limit=0, max_body=200_000)
    yield s, token
    log = s.stop()
    assert "Traceback" not in log, log[-3000:]


def test_no_server_errors(live):
    """Each operation in turn (schemathesis's pytest plugin does not load under this pytest; its engine does)."""
    server, token = live
    api = schemathesis.openapi.from_url(server.url + "/api/openapi.json")
    operations = [r.ok() for r in api.get_all_operations()]
    assert len(operations) >= 25
    calls = {"n": 0}
    for op in operations:
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=op.as_strategy())
        def fuzz(case) -> None:
            response = case.call(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
            calls["n"] += 1
            case.validate_response(response, checks=[not_a_server_error])

        fuzz()
    print(f"schemathesis: {len(operations)} operations, {calls['n']} requests, no 5xx")
