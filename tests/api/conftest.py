"""Fixtures of the API tests: the test world in a real DuckDB file and a real server over it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api_world as world  # noqa: E402
from api_server import Server, create_token  # noqa: E402


@pytest.fixture(scope="module")
def world_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("world") / "world.duckdb"
    world.build(db)
    return db


@pytest.fixture(scope="module")
def token(world_db) -> str:
    return create_token(world_db, "analyst")


@pytest.fixture(scope="module")
def server(world_db, token):
    s = Server(world_db, rate_limit=0, max_body=20_000)
    yield s
    s.stop()
