"""Spark ETL -> Parquet lake -> store gives exactly the rows of the DuckDB loader (real ethereum-etl and
bitcoin-etl fixtures, and the simulated world's bitcoin export); loads are idempotent and all-or-nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from chainsleuth import store
from chainsleuth.errors import InputError
from chainsleuth.ingest.etl import load_etl
from chainsleuth.spark import lake
from chainsleuth.spark.ingest import etl_to_parquet

DATA = Path(__file__).resolve().parents[1] / "data"
ETH = DATA / "ethereum-etl"
BTC = DATA / "bitcoin-etl"


def eth_fixture(tmp: Path) -> Path:
    """Every real ethereum-etl fixture in one folder (CSV and JSON, receipts, token transfers, traces with
    create/suicide/callcode/failed frames and block rewards); block files added where a fixture has none."""
    d = tmp / "eth"
    shutil.copytree(ETH / "blocks_47218_47219", d / "a")
    shutil.copytree(ETH / "stream_17173049_17173050", d / "b")
    shutil.copytree(ETH / "token_transfers_483920", d / "c")
    (d / "c" / "blocks.csv").write_text(f"number,hash,parent_hash,timestamp\n483920,0x{'ab' * 32},0x{'cd' * 32},1445404053\n")
    traces = [("block_with_suicide", 1011973), ("block_with_subtraces", 1000000), ("block_with_error", 1000895),
              ("block_with_create", 1000690)]
    for i, (name, number) in enumerate(traces):
        t = d / f"t{i}"
        t.mkdir()
        shutil.copy(ETH / "traces" / name / "expected_traces.csv", t / "traces.csv")
        (t / "blocks.csv").write_text(f"number,hash,parent_hash,timestamp\n{number},0x{f'{i:02x}' * 32},0x{'cd' * 32},1455404053\n")
    return d


def rows(con: duckdb.DuckDBPyConnection, table: str, chain: str) -> list[tuple]:
    """A table's rows for comparison. Reward transfers' ``seq`` is left out: the DuckDB loader numbers
    rewards with row_number() over ties (all share an empty trace address), so theirs is arbitrary."""
    cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    if table == "transfers":
        cols = [c if c != "seq" else "CASE WHEN kind = 'reward' THEN NULL ELSE seq END AS seq" for c in cols]
    return sorted(con.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE chain = ?", [chain]).fetchall(),
                  key=repr)


def assert_same_ledger(src: Path, chain: str, spark, tmp: Path, reference: Path | None = None) -> dict:
    """Spark-ingest ``src`` and compare with the DuckDB loader's tables (``reference``: a store that already
    holds ``src`` loaded by the DuckDB engine, so the world is not loaded twice)."""
    if reference is not None:
        duck = store.connect(reference)
    else:
        duck = store.connect(tmp / f"duck-{chain}.duckdb")
        load_etl(duck, src, chain)
    stats = etl_to_parquet(spark, src, chain, str(tmp / "lake"), bucket_size=1000)
    via = store.connect(tmp / f"spark-{chain}.duckdb")
    lake.load_into_store(via, tmp / "lake", chain)
    for table in lake.tables_for(chain):
        want, got = rows(duck, table, chain), rows(via, table, chain)
        assert got == want, f"{table}: Spark and DuckDB engines differ"
    traces = "SELECT traces FROM chains WHERE chain = ?"
    assert via.execute(traces, [chain]).fetchone() == duck.execute(traces, [chain]).fetchone()
    duck.close()
    via.close()
    return stats.to_dict()


def test_ethereum_fixtures_same_rows_as_duckdb_and_idempotent(spark, tmp_path):
    src = eth_fixture(tmp_path)
    stats = assert_same_ledger(src, "ethereum", spark, tmp_path)
    assert stats["added"] == {"blocks": 9, "transactions": 302, "transfers": 429}
    # Exact amount beyond 2^64 survives Spark -> Parquet DECIMAL(38,0) -> DuckDB HUGEINT.
    con = duckdb.connect()
    got = con.execute(f"SELECT count(*) FROM ({lake.duckdb_relation_sql(tmp_path / 'lake', 'transfers', 'ethereum')}) "
                      "WHERE amount = 150188698577042438264952193024").fetchone()[0]
    assert got == 2  # two token transfers of exactly this amount in the stream fixture
    def ledger_files() -> set[str]:
        return {str(p) for p in (tmp_path / "lake").rglob("*.parquet") if "/assets/" not in str(p)}

    before = ledger_files()
    again = etl_to_parquet(spark, src, "ethereum", str(tmp_path / "lake"))
    assert again.added == {"blocks": 0, "transactions": 0, "transfers": 0}
    assert ledger_files() == before  # nothing appended
    assert not (tmp_path / "lake" / "_staging").exists()
    # Layout: Hive partitions by chain and block bucket, readable by DuckDB's own hive reader.
    n = con.execute(f"SELECT count(*) FROM read_parquet('{tmp_path}/lake/transfers/*/*/*.parquet', "
                    "hive_partitioning = true) WHERE chain = 'ethereum' AND block_bucket = 17173").fetchone()[0]
    assert n == 418


@pytest.mark.parametrize("folder", ["block_with_transactions", "stream_50001_50002"])
def test_bitcoin_fixtures_same_rows_as_duckdb(spark, tmp_path, folder):
    stats = assert_same_ledger(BTC / folder, "bitcoin", spark, tmp_path)
    assert stats["added"]["transactions"] > 0


def test_bad_row_names_file_and_line_and_leaves_lake_unchanged(spark, tmp_path):
    d = tmp_path / "x"
    shutil.copytree(ETH / "blocks_47218_47219", d)
    etl_to_parquet(spark, d, "ethereum", str(tmp_path / "lake"))
    before = sorted(map(str, (tmp_path / "lake").rglob("*")))
    bad = d / "more" / "transactions.csv"
    bad.parent.mkdir()
    lines = (d / "expected_transactions.csv").read_text().splitlines()
    row = lines[1].split(",")
    row[0] = "0x" + "11" * 32
    row[7] = "12.5"  # value must be an unsigned integer
    bad.write_text("\n".join([lines[0], lines[2].replace(lines[2][:66], "0x" + "22" * 32), ",".join(row)]) + "\n")
    with pytest.raises(InputError) as err:
        etl_to_parquet(spark, d, "ethereum", str(tmp_path / "lake"))
    assert err.value.file.endswith("more/transactions.csv") and err.value.line == 3
    assert "value" in str(err.value)
    assert sorted(map(str, (tmp_path / "lake").rglob("*"))) == before


def test_small_world_bitcoin_export_same_rows(spark, small_world, world_db, tmp_path):
    assert_same_ledger(small_world / "bitcoin", "bitcoin", spark, tmp_path, reference=world_db)


@pytest.mark.slow
def test_small_world_ethereum_export_same_rows(spark, small_world, world_db, tmp_path):
    stats = assert_same_ledger(small_world / "ethereum", "ethereum", spark, tmp_path, reference=world_db)
    assert stats["added"]["transfers"] > 50_000
