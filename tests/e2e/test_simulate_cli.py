"""``chainsleuth simulate`` writes a world that ``chainsleuth ingest etl`` loads without error, with the
transfer counts the simulator reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

BIN = Path(sys.executable).parent / "chainsleuth"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_simulate_then_ingest(tmp_path):
    out = tmp_path / "world"
    r = run(
        "simulate",
        str(out),
        "--seed",
        "4",
        "--scale",
        "25000",
        "--incidents",
        "lazarus-like=1,scammer=2",
        "--format",
        "json",
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert [i["id"] for i in summary["incidents"]] == ["lazarus-like-1", "scammer-1", "scammer-2"]
    db = tmp_path / "w.duckdb"
    for chain in ("ethereum", "bitcoin"):
        r = run("ingest", "etl", str(out / chain), "--chain", chain, "--db", str(db))
        assert r.returncode == 0, r.stderr
    con = duckdb.connect(str(db), read_only=True)
    kinds = dict(
        con.execute("SELECT kind, count(*) FROM transfers WHERE chain = 'ethereum' GROUP BY kind").fetchall()
    )
    eth = summary["transfers"]["ethereum"]
    assert kinds == {
        "native": eth["native"],
        "token": eth["token"],
        "internal": eth["internal"],
        "reward": eth["genesis"],
    }
    outs = con.execute("SELECT count(*) FROM utxo_outputs WHERE chain = 'bitcoin'").fetchone()[0]
    assert outs == summary["transfers"]["bitcoin"]["outputs"]
    ins = con.execute("SELECT count(*), count(value) FROM utxo_inputs WHERE chain = 'bitcoin'").fetchone()
    assert ins == (summary["transfers"]["bitcoin"]["inputs"],) * 2
    con.close()
    # prices and the TagPack load with the importers the demo uses
    r = run("prices", "import", str(out / "prices.csv"), "--db", str(db))
    assert r.returncode == 0, r.stderr
    r = run("tags", "import", str(out / "tags.yaml"), "--db", str(db))
    assert r.returncode == 0, r.stderr
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(DISTINCT symbol) FROM prices").fetchone()[0] == 5
    assert con.execute("SELECT count(*) FROM tags").fetchone()[0] == summary["files"]["tags"]
    con.close()


def test_bad_options_are_one_clear_error(tmp_path):
    r = run("simulate", str(tmp_path / "x"), "--scale", "enormous")
    assert r.returncode == 2 and "unknown scale" in r.stderr
    r = run("simulate", str(tmp_path / "x"), "--incidents", "burglar=2")
    assert r.returncode == 2 and "unknown incident profile" in r.stderr
