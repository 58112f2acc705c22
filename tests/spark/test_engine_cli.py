"""``--engine spark`` through the CLI gives the same store and screening results as ``--engine duckdb``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "bitcoin-etl"
pytestmark = pytest.mark.slow  # conftest adds the spark / xdist_group("spark") markers


def cli(*args: str, db: Path, lake: Path) -> str:
    r = subprocess.run([sys.executable, "-m", "chainsleuth.cli", *args, "--db", str(db), "--format", "json"],
                       capture_output=True, text=True, timeout=600, env={**os.environ, "CHAINSLEUTH_LAKE": str(lake)})
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_engine_spark_matches_duckdb_through_the_cli(tmp_path):
    folder = DATA / "stream_50001_50002"
    duck, spark = tmp_path / "duck.duckdb", tmp_path / "spark.duckdb"
    cli("ingest", "etl", str(folder), "--chain", "bitcoin", db=duck, lake=tmp_path / "l1")
    cli("ingest", "etl", str(folder), "--chain", "bitcoin", "--engine", "spark", db=spark, lake=tmp_path / "l2")
    info = [json.loads(cli("info", db=d, lake=tmp_path / "l2"))["chains"][0]["rows"] for d in (duck, spark)]
    assert info[0] == info[1] and info[0]["utxo_outputs"] == 4
    a = json.loads(cli("cluster", "--chain", "bitcoin", db=duck, lake=tmp_path / "l1"))
    b = json.loads(cli("cluster", "--chain", "bitcoin", "--engine", "spark", db=spark, lake=tmp_path / "l2"))
    assert (a["addresses"], a["clusters"], a["links"]) == (b["addresses"], b["clusters"], b["links"])
    s1 = cli("screen", "--all", "--chain", "bitcoin", db=duck, lake=tmp_path / "l1")
    s2 = cli("screen", "--all", "--chain", "bitcoin", "--engine", "spark", db=spark, lake=tmp_path / "l2")
    assert json.loads(s1) == json.loads(s2) and len(json.loads(s1)) == 3
