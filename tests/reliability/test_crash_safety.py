"""kill -9 of an ingest at random points, then a re-run: the store equals a clean single run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from chainsleuth import store

pytestmark = pytest.mark.slow


def make_export(folder: Path, rows: int = 300_000, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir()
    nblocks = rows // 100
    numbers = np.arange(1000, 1000 + nblocks)
    pacsv.write_csv(pa.table({"number": numbers, "hash": [f"0x{int(n):064x}" for n in numbers],
                              "parent_hash": [f"0x{int(n) - 1:064x}" for n in numbers],
                              "timestamp": 1_600_000_000 + (numbers - 1000) * 12}), folder / "blocks.csv")
    addrs = np.array([f"0x{i:040x}" for i in range(5000)])
    idx = np.arange(rows)
    pacsv.write_csv(pa.table({
        "token_address": addrs[rng.integers(0, 5, rows)], "from_address": addrs[rng.integers(0, 5000, rows)],
        "to_address": addrs[rng.integers(0, 5000, rows)], "value": rng.integers(0, 10**15, rows).astype(str),
        "transaction_hash": [f"0x{i:064x}" for i in idx // 3], "log_index": idx % 3, "block_number": numbers[idx // 100],
    }), folder / "token_transfers.csv")


def digest(db: Path) -> tuple:
    con = store.connect(db)
    try:
        return con.execute(
            """SELECT (SELECT count(*) FROM blocks), (SELECT count(*) FROM transfers), (SELECT sum(amount) FROM transfers),
                      (SELECT md5(string_agg(tx_hash || position || amount::VARCHAR, ',' ORDER BY tx_hash, position)) FROM transfers),
                      (SELECT count(*) FROM (SELECT tx_hash, position FROM transfers GROUP BY ALL HAVING count(*) > 1))"""
        ).fetchone()
    finally:
        con.close()


def ingest_cmd(folder: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "chainsleuth.cli", "ingest", "etl", str(folder), "--chain", "ethereum", "--db", str(db)]


def test_kill_dash_nine_then_rerun_equals_clean_run(tmp_path):
    folder = tmp_path / "etl"
    make_export(folder)
    clean = tmp_path / "clean.duckdb"
    subprocess.run(ingest_cmd(folder, clean), check=True, capture_output=True, timeout=300)
    want = digest(clean)
    assert want[1] == 300_000 and want[4] == 0

    crashed = tmp_path / "crashed.duckdb"
    rnd = random.Random(11)
    kills = 0
    for _ in range(4):
        proc = subprocess.Popen(ingest_cmd(folder, crashed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.3, 3.0))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        # After each crash the database opens and holds either nothing of this load or all of it.
        got = digest(crashed)
        assert got[1] in (0, 300_000) and got[4] == 0, got
    subprocess.run(ingest_cmd(folder, crashed), check=True, capture_output=True, timeout=300)
    assert digest(crashed) == want
    assert kills >= 1, "no kill landed mid-ingest; lengthen the export"
