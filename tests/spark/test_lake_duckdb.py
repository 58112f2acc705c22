"""The DuckDB side of the lake (no JVM): store -> lake -> store is exact, amounts beyond DECIMAL(38,0)
included, loading is idempotent, and the engine never overwrites a lake that holds more than the store."""

from __future__ import annotations

from datetime import datetime

import pytest

from chainsleuth import store
from chainsleuth.errors import ChainsleuthError
from chainsleuth.spark import engine, lake
from chainsleuth.spark.session import parse_conf
from chainsleuth.store.ledger import ensure_chain

BIG = 2**127 - 1  # fits HUGEINT, not DECIMAL(38,0)
HUGE = 2**256 - 1  # only BIGNUM


def _seed(con) -> None:
    ensure_chain(con, "ethereum")
    t = datetime(2024, 3, 1, 12, 0, 5)
    con.execute("INSERT INTO blocks VALUES ('ethereum', 250001, '0x' || repeat('a', 64), NULL, ?, 3)", [t])
    rows = [
        ("0x" + "1" * 64, "native", "", 0, 10**18 + 1, None),
        ("0x" + "2" * 64, "token", "0", 100000, BIG, None),
        ("0x" + "3" * 64, "token", "1", 100001, None, str(HUGE)),
        ("0x" + "4" * 64, "token", "2", 100002, 10**38 - 1, None),
    ]
    for tx, kind, pos, seq, amount, overflow in rows:
        con.execute(
            "INSERT INTO transfers VALUES ('ethereum', 250001, ?, ?, 0, ?, ?, ?, '0x' || repeat('b', 40), "
            "'0x' || repeat('c', 40), 'ETH', ?, ?::BIGNUM)", [t, tx, kind, pos, seq, amount, overflow])


def dump(con, table):
    return sorted(map(repr, con.execute(f"SELECT * FROM {table}").fetchall()))


def test_store_lake_store_roundtrip_is_exact(tmp_path):
    src = store.connect(tmp_path / "a.duckdb")
    _seed(src)
    written = lake.export_store(src, tmp_path / "lake", "ethereum", size=1000)
    assert written["transfers"] == 4
    assert (tmp_path / "lake" / "transfers" / "chain=ethereum" / "block_bucket=250").is_dir()
    dst = store.connect(tmp_path / "b.duckdb")
    added = lake.load_into_store(dst, tmp_path / "lake", "ethereum")
    assert added["transfers"] == 4 and added["blocks"] == 1
    for table in ("blocks", "transfers", "assets", "chains"):
        assert dump(dst, table) == dump(src, table), table
    amounts = dict(dst.execute("SELECT position, amount FROM transfers WHERE kind = 'token'").fetchall())
    assert amounts == {"0": BIG, "1": None, "2": 10**38 - 1}
    assert dst.execute("SELECT amount_overflow::VARCHAR FROM transfers WHERE position = '1'").fetchone()[0] == str(HUGE)
    # idempotent: a second load adds nothing
    assert sum(lake.load_into_store(dst, tmp_path / "lake", "ethereum").values()) == 0
    assert dump(dst, "transfers") == dump(src, "transfers")
    with pytest.raises(ChainsleuthError, match="buckets of 1000"):
        lake.export_store(src, tmp_path / "lake", "ethereum", size=5000)


def test_engine_refreshes_a_stale_lake_but_never_shrinks_it(tmp_path):
    con = store.connect(tmp_path / "a.duckdb")
    _seed(con)
    root = str(tmp_path / "lake")
    assert engine.ensure_lake(con, root, "ethereum") is True  # empty lake: exported
    assert engine.ensure_lake(con, root, "ethereum") is False  # same counts: left alone
    con.execute("DELETE FROM transfers WHERE kind = 'native'")
    assert engine.ensure_lake(con, root, "ethereum") is False  # the lake holds more: kept
    assert len(lake.lake_files(root, "transfers", "ethereum")) >= 1


def test_spark_conf_from_environment_text():
    assert parse_conf(" spark.a=1; spark.b = x=y ;") == {"spark.a": "1", "spark.b": "x=y"}
    with pytest.raises(ChainsleuthError, match="key=value"):
        parse_conf("spark.a")
