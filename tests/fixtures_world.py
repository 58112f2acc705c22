"""The shared simulated world: ``small_world`` is the path of a small world (seed 7) generated once per test
session (per xdist worker). Import the fixture into a conftest: ``from fixtures_world import small_world``."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainsleuth.simulate import simulate


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with ethereum/, bitcoin/, prices.csv, tags.yaml, owners.csv and truth.json (seed 7, small)."""
    out = tmp_path_factory.mktemp("small_world")
    summary = simulate(out, seed=7, scale="small")
    (out / "summary.json").write_text(__import__("json").dumps(summary))
    return out
