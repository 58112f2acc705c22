"""Generic transfer CSVs (incl. the MFTracer case format) and price CSVs."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from chainsleuth.errors import ChainsleuthError, InputError
from chainsleuth.ingest.csv_transfers import load_transfer_csv
from chainsleuth.ingest.prices import load_prices

A, B, C = "0x" + "a1" * 20, "0x" + "b2" * 20, "0x" + "c3" * 20
H1, H2 = "0x" + "01" * 32, "0x" + "02" * 32


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_mftracer_case_usd_exact_and_tags(con, shared_data):
    f = shared_data / "mftracer-cases" / "HB" / "HB.csv"
    stats = load_transfer_csv(con, f, "ethereum")
    with f.open() as fh:
        rows = list(csv.DictReader(fh))
    assert stats.added["transfers"] == len(rows) == 3887
    want = sum(Decimal(r["Value_in_USD"]) for r in rows)
    got = con.execute("SELECT sum(amount) FROM transfers WHERE asset = 'USD'").fetchone()[0]
    assert Decimal(int(got)) / 10**6 == want.quantize(Decimal("0.000001"))
    labelled = con.execute("SELECT count(DISTINCT address) FROM tags WHERE source = 'csv:HB.csv'").fetchone()[0]
    assert labelled == len({r["From"].lower() for r in rows if r["From_label"]} | {r["To"].lower() for r in rows if r["To_label"]})
    assert con.execute("SELECT category FROM tags WHERE label LIKE 'Harmony Bridge Hacker%' LIMIT 1").fetchone()[0] == "hacker"
    again = load_transfer_csv(con, f, "ethereum")
    assert again.added["transfers"] == 0
    assert con.execute("SELECT count(*) FROM tags WHERE source = 'csv:HB.csv'").fetchone()[0] == labelled


def test_explorer_style_decimal_amounts(con, tmp_path):
    f = write(tmp_path / "x.csv", "Txhash,Blockno,DateTime (UTC),From,To,Value\n"
              f"{H1},100,2023-06-03 10:00:00,{A},{B},1.5\n{H2},101,2023-06-03 10:01:00,{B},{C},0.000000000000000001\n")
    load_transfer_csv(con, f, "ethereum")  # ETH: 18 decimals from the chain registry
    got = con.execute("SELECT amount FROM transfers ORDER BY block_number").fetchall()
    assert got == [(1500000000000000000,), (1,)]


def test_bad_checksum_and_bad_value_name_the_line(con, tmp_path):
    bad_sum = "0x" + "A1" * 10 + "a1" * 10
    f = write(tmp_path / "c.csv", f"tx_hash,time,from,to,amount\n{H1},1686000000,{A},{B},5\n{H2},1686000001,{bad_sum},{B},5\n")
    with pytest.raises(InputError, match=r"c.csv:3: .*checksum"):
        load_transfer_csv(con, f, "ethereum")
    f2 = write(tmp_path / "d.csv", f"tx_hash,time,from,to,amount\n{H1},1686000000,{A},{B},-5\n")
    with pytest.raises(InputError, match=r"d.csv:2: amount must be a non-negative number"):
        load_transfer_csv(con, f2, "ethereum")
    f3 = write(tmp_path / "e.csv", "hash,when,who\n")
    with pytest.raises(InputError, match=r"e.csv:1: cannot find column"):
        load_transfer_csv(con, f3, "ethereum")
    assert con.execute("SELECT count(*) FROM transfers").fetchone()[0] == 0


def test_column_mapping(con, tmp_path):
    f = write(tmp_path / "m.csv", f"h,t,s,r,v\n{H1},2023-01-01T00:00:00,{A},{B},7\n")
    load_transfer_csv(con, f, "ethereum", mapping={"tx_hash": "h", "time": "t", "from_address": "s",
                                                    "to_address": "r", "amount": "v"})
    assert con.execute("SELECT amount, asset FROM transfers").fetchone() == (7, "ETH")
    with pytest.raises(ChainsleuthError, match="unknown field"):
        load_transfer_csv(con, f, "ethereum", mapping={"nope": "h"})


def test_prices(con, tmp_path):
    f = write(tmp_path / "p.csv", "symbol,day,usd\nETH,2023-06-01,1850.5\nbtc,2023-06-01,27000\n")
    stats = load_prices(con, f)
    assert stats["rows"] == 2
    assert con.execute("SELECT usd FROM prices WHERE symbol = 'BTC'").fetchone()[0] == 27000.0
    write(f, "symbol,day,usd\nETH,2023-06-01,1900\n")
    load_prices(con, f)
    assert con.execute("SELECT usd FROM prices WHERE symbol = 'ETH'").fetchone()[0] == 1900.0
    bad = write(tmp_path / "b.csv", "symbol,day,usd\nETH,2023-06-02,1\nETH,not-a-day,2\n")
    with pytest.raises(InputError, match=r"b.csv:3: day must be a date"):
        load_prices(con, bad)
    bad2 = write(tmp_path / "b2.csv", "symbol,day,usd\nETH,2023-06-02,abc\n")
    with pytest.raises(InputError, match=r"b2.csv:2: usd must be"):
        load_prices(con, bad2)
    assert con.execute("SELECT count(*) FROM prices").fetchone()[0] == 2
