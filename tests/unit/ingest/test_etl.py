"""ETL ingestion on real mainnet fixtures (copied MIT subsets of ethereum-etl / bitcoin-etl test resources)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chainsleuth import store
from chainsleuth.errors import ChainsleuthError, InputError
from chainsleuth.ingest.etl import load_etl

DATA = Path(__file__).resolve().parents[2] / "data"
ETH = DATA / "ethereum-etl"
BTC = DATA / "bitcoin-etl"


def snapshot(con) -> dict:
    """Every ledger table's rows, for before/after comparisons."""
    out = {}
    for t in ["blocks", "transactions", "transfers", "assets", "utxo_outputs", "utxo_inputs", "prices", "tags", "chains"]:
        out[t] = sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall()))
    return out


def json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_stream_json_fixture_counts_and_exact_amounts(con):
    src = ETH / "stream_17173049_17173050"
    stats = load_etl(con, src, "ethereum")
    txs = json_lines(src / "expected_transactions.json")
    tts = json_lines(src / "expected_token_transfers.json")
    assert stats.added["blocks"] == 2
    assert stats.added["transactions"] == len(txs) == 298
    assert stats.added["token"] == len(tts)
    # Native transfers: successful transactions with non-zero value only.
    moving = [t for t in txs if int(t["value"]) > 0 and t["receipt_status"] == 1]
    assert stats.added["native"] == len(moving)
    failed = [t for t in txs if t["receipt_status"] == 0 and int(t["value"]) > 0]
    for t in failed:
        n = con.execute("SELECT count(*) FROM transfers WHERE tx_hash = ? AND kind = 'native'", [t["hash"]]).fetchone()[0]
        assert n == 0, "a failed transaction must move no value"
    # An exact token amount beyond 2^64, straight from the source file.
    big = next(t for t in tts if t["value"] == 150188698577042438264952193024)
    row = con.execute(
        "SELECT amount, asset, from_address, block_time FROM transfers WHERE tx_hash = ? AND kind = 'token' AND position = ?",
        [big["transaction_hash"], str(big["log_index"])],
    ).fetchone()
    assert row[0] == 150188698577042438264952193024
    assert row[1] == big["token_address"] and row[2] == big["from_address"]
    assert int(row[3].timestamp()) if row[3].tzinfo else row[3].isoformat() == "2023-05-02T12:19:59"
    # Sums agree with the source exactly, per token.
    for token in {t["token_address"] for t in tts}:
        want = sum(int(t["value"]) for t in tts if t["token_address"] == token)
        got = con.execute("SELECT sum(amount) FROM transfers WHERE asset = ? AND kind = 'token'", [token]).fetchone()[0]
        assert int(got) == want


def test_csv_fixture_and_idempotency(con):
    src = ETH / "blocks_47218_47219"
    first = load_etl(con, src, "ethereum")
    assert first.added == {"blocks": 2, "transactions": 4, "native": 4}
    before = snapshot(con)
    second = load_etl(con, src, "ethereum")
    assert second.added == {"blocks": 0, "transactions": 0, "native": 0}
    assert snapshot(con)["transfers"] == before["transfers"]
    amount = con.execute(
        "SELECT amount FROM transfers WHERE tx_hash = '0x99f1097abd8f33a68f0ed63d60de5f3e7e2a3e0579b90d5f46a4f201c658b46d'"
    ).fetchone()[0]
    assert amount == 110000000000000000000


def _with_blocks(tmp_path: Path, trace_dir: Path, number: int) -> Path:
    """Trace fixtures carry no block file: add one so transfers get a time."""
    d = tmp_path / trace_dir.name
    d.mkdir()
    shutil.copy(trace_dir / "expected_traces.csv", d / "traces.csv")
    (d / "blocks.csv").write_text(f"number,hash,parent_hash,timestamp\n{number},0x{'ab' * 32},0x{'cd' * 32},1455404053\n")
    return d


def test_traces_value_semantics(con, tmp_path):
    # Self-destruct value flow is an internal transfer; block reward kept as kind 'reward'.
    d = _with_blocks(tmp_path, ETH / "traces" / "block_with_suicide", 1011973)
    load_etl(con, d, "ethereum")
    row = con.execute("SELECT from_address, to_address, amount FROM transfers WHERE kind = 'internal'").fetchall()
    assert row == [("0x474faa5018639791952fae334e2911700ac7fe9b", "0x83973747eec131bf9a08ac64fb1a518e891bdf4b", 50000000000000000)]
    assert con.execute("SELECT count(*) FROM transfers WHERE kind = 'reward'").fetchone()[0] >= 1
    assert con.execute("SELECT traces FROM chains WHERE chain = 'ethereum'").fetchone()[0] is True


def test_callcode_and_failed_traces_move_nothing(con, tmp_path):
    d = _with_blocks(tmp_path, ETH / "traces" / "block_with_subtraces", 1000000)
    load_etl(con, d, "ethereum")
    # The only sub-trace is a callcode frame: value stays in the calling contract.
    assert con.execute("SELECT count(*) FROM transfers WHERE kind = 'internal'").fetchone()[0] == 0
    d2 = _with_blocks(tmp_path, ETH / "traces" / "block_with_error", 1000895)
    load_etl(con, d2, "ethereum")
    failed = con.execute(
        "SELECT count(*) FROM transfers WHERE tx_hash = '0xa2f089480e6fd907e786a88d928ba20feeca2ca37ffa84c2d54bae42f5d989c9'"
    ).fetchone()[0]
    assert failed == 0


def test_bitcoin_outputs_inputs_and_prevout_resolution(con):
    stats = load_etl(con, BTC / "block_with_transactions", "bitcoin")
    assert stats.added["utxo_outputs"] == 4 and stats.added["utxo_inputs"] == 3
    total = con.execute("SELECT sum(value) FROM utxo_outputs").fetchone()[0]
    want = sum(o["value"] for t in json_lines(BTC / "block_with_transactions" / "expected_transactions.json") for o in t["outputs"])
    assert total == want
    # The input of f847... spends the coinbase output of e188... in the same data: resolved from the store.
    resolved = con.execute(
        "SELECT count(*) FROM utxo_inputs i JOIN utxo_outputs o ON o.tx_hash = i.spent_tx_hash "
        "AND o.output_index = i.spent_output_index WHERE i.value = o.value"
    ).fetchone()[0]
    unresolved = con.execute("SELECT count(*) FROM utxo_inputs WHERE value IS NULL").fetchone()[0]
    assert resolved + unresolved == 3
    assert load_etl(con, BTC / "block_with_transactions", "bitcoin").added["utxo_outputs"] == 0


def test_bad_row_in_the_middle_leaves_database_unchanged(con, tmp_path):
    load_etl(con, ETH / "blocks_47218_47219", "ethereum")
    before = snapshot(con)
    src = ETH / "stream_17173049_17173050"
    d = tmp_path / "bad"
    shutil.copytree(src, d)
    lines = (d / "expected_token_transfers.json").read_text().splitlines()
    middle = len(lines) // 2
    rec = json.loads(lines[middle])
    rec["to_address"] = "0x12345"  # too short
    lines[middle] = json.dumps(rec)
    (d / "expected_token_transfers.json").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        load_etl(con, d, "ethereum")
    assert err.value.line == middle + 1
    assert "expected_token_transfers.json" in str(err.value) and "to_address" in str(err.value)
    assert snapshot(con) == before


def test_structural_errors_name_file_and_line(con, tmp_path):
    d = tmp_path / "e"
    d.mkdir()
    shutil.copy(ETH / "blocks_47218_47219" / "expected_blocks.csv", d / "blocks.csv")
    text = (ETH / "blocks_47218_47219" / "expected_transactions.csv").read_text().splitlines()
    text[3] = text[3].rsplit(",", 2)[0]  # drop two columns on line 4
    (d / "transactions.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(InputError) as err:
        load_etl(con, d, "ethereum")
    assert err.value.line == 4 and "transactions.csv" in str(err.value)
    (d / "transactions.csv").write_text("hash,nonce\n0x01,1\n")
    with pytest.raises(InputError, match=r"transactions.csv:1: missing column"):
        load_etl(con, d, "ethereum")
    assert con.execute("SELECT count(*) FROM blocks").fetchone()[0] == 0


def test_uint256_edges(con, tmp_path):
    d = tmp_path / "u"
    d.mkdir()
    (d / "blocks.csv").write_text(f"number,hash,parent_hash,timestamp\n5,0x{'11' * 32},0x{'22' * 32},1600000000\n")
    top = 2**256 - 1
    head = "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n"
    (d / "token_transfers.csv").write_text(
        head + f"0x{'aa' * 20},0x{'bb' * 20},0x{'cc' * 20},{top},0x{'33' * 32},0,5\n"
        f"0x{'aa' * 20},0x{'bb' * 20},0x{'bb' * 20},0,0x{'33' * 32},1,5\n"
    )
    load_etl(con, d, "ethereum")
    rows = con.execute("SELECT amount, amount_overflow::VARCHAR FROM transfers ORDER BY position").fetchall()
    assert rows[0] == (None, str(top))  # beyond HUGEINT: kept exactly, excluded from sums
    assert rows[1] == (0, None)  # zero-value self transfer kept
    (d / "token_transfers.csv").write_text(head + f"0x{'aa' * 20},0x{'bb' * 20},0x{'cc' * 20},{top + 1},0x{'44' * 32},0,5\n")
    with pytest.raises(InputError, match=r"token_transfers.csv:2: .*2\^256-1"):
        load_etl(con, d, "ethereum")


def test_missing_block_time_is_a_clear_error(con, tmp_path):
    d = tmp_path / "t"
    d.mkdir()
    shutil.copy(ETH / "traces" / "block_with_suicide" / "expected_traces.csv", d / "traces.csv")
    with pytest.raises(InputError, match="block 1011973 has no timestamp"):
        load_etl(con, d, "ethereum")


def test_not_a_folder_and_empty_folder(con, tmp_path):
    with pytest.raises(ChainsleuthError, match="not a folder"):
        load_etl(con, tmp_path / "nope", "ethereum")
    with pytest.raises(ChainsleuthError, match="no export files"):
        load_etl(con, tmp_path, "ethereum")


def test_parquet_export_round_trip(con, tmp_path):
    load_etl(con, ETH / "stream_17173049_17173050", "ethereum")
    n = store.export_parquet(con, "transfers", tmp_path / "t.parquet")
    back = con.execute(f"SELECT count(*), sum(amount) FROM '{tmp_path / 't.parquet'}'").fetchone()
    assert back == con.execute("SELECT count(*), sum(amount) FROM transfers").fetchone() and back[0] == n
    with pytest.raises(ChainsleuthError, match="no table named"):
        store.export_parquet(con, "nope; DROP TABLE transfers", tmp_path / "x.parquet")


TT_HEAD = "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n"


def _tt_row(tx: str, log_index: int, block: int, value: int, frm: str = "bb") -> str:
    return f"0x{'aa' * 20},0x{frm * 20},0x{'cc' * 20},{value},0x{tx * 32},{log_index},{block}\n"


def _blocks(numbers: range) -> str:
    rows = "".join(f"{n},0x{n:064x},0x{max(n - 1, 0):064x},{1_600_000_000 + 12 * n}\n" for n in numbers)
    return "number,hash,parent_hash,timestamp\n" + rows


def test_overlapping_loads_store_each_transfer_once(con, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "blocks.csv").write_text(_blocks(range(5, 7)))
    (first / "token_transfers.csv").write_text(TT_HEAD + _tt_row("11", 0, 5, 7) + _tt_row("12", 0, 6, 8))
    # Overlaps the first load by one block: the transfer already stored is skipped, the new ones are added.
    (second / "blocks.csv").write_text(_blocks(range(6, 8)))
    (second / "token_transfers.csv").write_text(TT_HEAD + _tt_row("12", 0, 6, 8) + _tt_row("12", 1, 6, 9) + _tt_row("13", 0, 7, 10))
    assert load_etl(con, first, "ethereum").added == {"blocks": 2, "token": 2}
    assert load_etl(con, second, "ethereum").added == {"blocks": 1, "token": 2}
    rows = con.execute("SELECT tx_hash, position, amount, block_time FROM transfers ORDER BY block_number, position").fetchall()
    assert [(r[0][2:4], r[1], r[2]) for r in rows] == [("11", "0", 7), ("12", "0", 8), ("12", "1", 9), ("13", "0", 10)]
    assert int(rows[-1][3].timestamp()) == 1_600_000_000 + 12 * 7


def test_token_transfers_take_stored_block_times_and_tx_index(con, tmp_path):
    load_etl(con, ETH / "blocks_47218_47219", "ethereum")
    d = tmp_path / "later"
    d.mkdir()
    # No blocks file: times come from the stored blocks; the transaction (upper-case hex) is stored with index 1.
    tx = "0x95844E6C54B4AAFC8E1F75784127529280E75C3A980D91F6DFCA1C1B0EB078FB"
    (d / "token_transfers.csv").write_text(TT_HEAD + f"0x{'aa' * 20},0x{'bb' * 20},0x{'cc' * 20},5,{tx},3,47218\n")
    assert load_etl(con, d, "ethereum").added == {"blocks": 0, "token": 1}
    row = con.execute("SELECT tx_hash, tx_index, block_time FROM transfers WHERE kind = 'token'").fetchone()
    stored = con.execute("SELECT block_time FROM blocks WHERE number = 47218").fetchone()[0]
    assert row == (tx.lower(), 1, stored)


def test_duplicate_rows_across_files(con, tmp_path):
    d = tmp_path / "dups"
    d.mkdir()
    (d / "blocks.csv").write_text(_blocks(range(5, 6)))
    # Two partition files that overlap by one identical row: stored once.
    (d / "token_transfers_a.csv").write_text(TT_HEAD + _tt_row("21", 0, 5, 1) + _tt_row("21", 1, 5, 2))
    (d / "token_transfers_b.csv").write_text(TT_HEAD + _tt_row("21", 1, 5, 2) + _tt_row("22", 0, 5, 3))
    assert load_etl(con, d, "ethereum").added == {"blocks": 1, "token": 3}
    before = snapshot(con)
    # Same key, different contents: refused, nothing stored.
    (d / "token_transfers_b.csv").write_text(TT_HEAD + _tt_row("23", 0, 5, 4) + _tt_row("23", 0, 5, 4, frm="dd"))
    with pytest.raises(ChainsleuthError, match="conflicting duplicate token transfer"):
        load_etl(con, d, "ethereum")
    assert snapshot(con) == before


def test_later_load_at_block_zero_finds_the_stored_block(con, tmp_path):
    first, later = tmp_path / "genesis", tmp_path / "later"
    first.mkdir()
    later.mkdir()
    (first / "blocks.csv").write_text(_blocks(range(0, 1)))
    load_etl(con, first, "ethereum")
    (later / "token_transfers.csv").write_text(TT_HEAD + _tt_row("31", 0, 0, 5))
    assert load_etl(con, later, "ethereum").added == {"blocks": 0, "token": 1}
    assert con.execute("SELECT epoch(block_time) FROM transfers").fetchone()[0] == 1_600_000_000
