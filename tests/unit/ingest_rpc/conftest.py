"""Node fixtures (anvil, regtest bitcoind, the EVM test world) for the live-ingestion tests."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[2])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from node.fixtures import anvil, bitcoind, evm_world  # noqa: E402,F401


def pytest_configure(config):
    # Known to pytest-xdist; registered here too so that `-p no:xdist --strict-markers` runs accept it.
    config.addinivalue_line("markers", "xdist_group(name): run these tests in one xdist worker (one node)")
