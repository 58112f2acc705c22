"""Fixtures shared by all tests: temporary databases and the read-only real data beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainsleuth import store
from fixtures_world import small_world  # noqa: F401  (session-scoped simulated world, seed 7)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` (real public data, read-only); tests needing it skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} not present (it ships beside the repository, not in it)")
    return SHARED_DATA


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh DuckDB file path (created and migrated on first connect)."""
    return tmp_path / "test.duckdb"


@pytest.fixture
def con(db_path: Path):
    c = store.connect(db_path)
    yield c
    c.close()
