"""Fixture: the report tests' theft stored in a real DuckDB ledger."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_theft import EDGES, T0, USD, txh  # noqa: E402

from chainsleuth.store.ledger import ensure_chain  # noqa: E402


@pytest.fixture
def ledger(con):
    """The theft's transfers stored in a real DuckDB ledger (blocks, transfers, prices)."""
    ensure_chain(con, "ethereum")
    for t, _h, f, to, a, m, _k in EDGES:
        when = T0 + timedelta(minutes=m)
        con.execute("INSERT INTO blocks VALUES ('ethereum', ?, ?, NULL, ?, 1)", [100 + t, txh(0x900 + t), when])
        con.execute("INSERT INTO transfers VALUES ('ethereum', ?, ?, ?, 0, 'native', '', 0, ?, ?, 'ETH', ?, NULL)",
                    [100 + t, when, txh(t), f, to, a])
    con.execute("INSERT INTO prices VALUES ('ETH', ?, ?, 'test')", [T0.date(), USD])
    return con
