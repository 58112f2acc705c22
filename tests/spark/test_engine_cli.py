"""``--engine spark`` through the CLI gives the same store and results as ``--engine duckdb``.

The commands run in this process (the ``cli`` fixture: typer's runner), so they share the test session's
SparkSession instead of starting a JVM each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "bitcoin-etl"
pytestmark = pytest.mark.slow  # conftest adds the spark / xdist_group("spark") markers


def test_engine_spark_matches_duckdb_through_the_cli(tmp_path, cli):
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
    # of the 4 outputs, 2 are coinbase rewards (paid by no address) and 2 pay the same address
    assert json.loads(s1) == json.loads(s2) and len(json.loads(s1)) == 1


def test_bulk_trace_of_ethereum_through_the_cli(stores, small_world, tmp_path, cli):
    """``trace --sources-file --model haircut --engine spark`` on the small world (``cluster --engine spark
    --chain ethereum`` goes through the CLI in test_spark_evm_trace.py): the scam crew's addresses, whose funds
    reach exchanges without crossing a bridge, so the DuckDB command (which follows bridges) reports the same
    exits and totals (integer amounts from the same float sweep: equal to the last unit's rounding)."""
    _, via, root = stores
    # The same file, opened again by the CLI (DuckDB shares one database instance within a process).
    db = Path(via.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0])
    truth = json.loads((small_world / "truth.json").read_text())
    crew = next(i for i in truth["incidents"] if i["profile"] == "scammer")
    f = tmp_path / "sources.csv"
    f.write_text("address\n" + "\n".join(a["address"] for a in crew["attacker_addresses"]) + "\n")
    args = ("trace", "--sources-file", str(f), "--chain", "ethereum", "--max-hops", "4", "--model", "haircut")
    want = json.loads(cli(*args, db=db, lake=root))
    got = json.loads(cli(*args, "--engine", "spark", db=db, lake=root))
    assert len(want["exits"]) >= 3 and {x["category"] for x in want["exits"]} & {"exchange", "deposit"}
    assert got["parameters"]["engine"] == "spark" and got["model"] == "haircut"
    assert len(got["edges"]) == len(want["edges"]) > 100

    def close(a: str, b: str) -> bool:
        return abs(int(a) - int(b)) <= max(1, abs(int(a)) * 1e-12)

    assert [(x["address"], x["asset"], x["tx_hashes"]) for x in got["exits"]] == \
        [(x["address"], x["asset"], x["tx_hashes"]) for x in want["exits"]]
    assert all(close(x["amount"], y["amount"]) for x, y in zip(want["exits"], got["exits"], strict=True))
    keys = ("source", "to_exits", "in_mixers", "in_services", "fees", "returned", "bridged_out")
    assert [r["asset"] for r in got["totals"]["by_asset"]] == [r["asset"] for r in want["totals"]["by_asset"]]
    assert all(close(x[k], y[k]) for x, y in zip(want["totals"]["by_asset"], got["totals"]["by_asset"], strict=True)
               for k in keys)
