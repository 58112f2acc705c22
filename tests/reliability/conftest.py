"""Reliability tests reuse the node fixtures (anvil, regtest bitcoind, fault proxy) from ``tests/node``."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
