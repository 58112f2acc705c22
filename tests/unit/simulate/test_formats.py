"""The files have the exact column sets of real ethereum-etl / bitcoin-etl exports, and well-formed values."""

from __future__ import annotations

import csv
import json
import re

import pytest
from bitcoin.wallet import CBitcoinAddress

ETL = "ethereum-etl-fixtures/tests/resources"
BTC = "bitcoin-etl-fixtures/tests/resources/test_export_blocks_job/bitcoin"
RECEIPT_COLUMNS = [
    "receipt_cumulative_gas_used",
    "receipt_gas_used",
    "receipt_contract_address",
    "receipt_root",
    "receipt_status",
    "receipt_effective_gas_price",
]


def header(path) -> list[str]:
    with open(path, newline="") as fh:
        return next(csv.reader(fh))


@pytest.mark.parametrize(
    "name, fixture",
    [
        ("blocks", "test_export_blocks_job/blocks_with_transactions/expected_blocks.csv"),
        (
            "token_transfers",
            "test_export_token_transfers_job/block_with_transfers/expected_token_transfers.csv",
        ),
        ("traces", "test_export_traces_job/block_with_subtraces/expected_traces.csv"),
        ("tokens", "test_export_tokens_job/token_with_invalid_data/expected_tokens.csv"),
    ],
)
def test_ethereum_columns_match_real_exports(small_world, shared_data, name, fixture):
    assert header(small_world / "ethereum" / f"{name}.csv") == header(shared_data / ETL / fixture)


def test_transactions_columns_are_export_plus_receipts(small_world, shared_data):
    base = header(
        shared_data / ETL / "test_export_blocks_job/blocks_with_transactions/expected_transactions.csv"
    )
    stream = json.loads(
        (shared_data / ETL / "test_stream/blocks_17173049_17173050/expected_transactions.json")
        .read_text()
        .splitlines()[0]
    )
    assert set(RECEIPT_COLUMNS) <= set(stream)
    assert header(small_world / "ethereum" / "transactions.csv") == base + RECEIPT_COLUMNS


def test_bitcoin_keys_match_real_exports(small_world, shared_data):
    real_tx = json.loads(
        (shared_data / BTC / "block_with_transactions/expected_transactions.json").read_text().splitlines()[1]
    )
    real_in = json.loads(
        (shared_data / BTC / "stream_50001_50002/expected_transactions.json").read_text().splitlines()[1]
    )["inputs"][0]
    real_block = json.loads(
        (shared_data / BTC / "block_with_transactions/expected_blocks.json").read_text().splitlines()[0]
    )
    lines = (small_world / "bitcoin" / "transactions.json").read_text().splitlines()
    txs = [json.loads(x) for x in lines[:3000]]
    spend = next(t for t in txs if t["inputs"])
    assert list(spend) == list(real_tx)
    assert list(spend["inputs"][0]) == list(real_in)
    assert list(spend["outputs"][0]) == list(real_tx["outputs"][0])
    block = json.loads((small_world / "bitcoin" / "blocks.json").read_text().splitlines()[1])
    assert list(block) == list(real_block)
    # enriched inputs: value, type and address filled
    assert all(i["value"] > 0 and i["addresses"] and i["type"] for t in txs for i in t["inputs"])


def test_addresses_and_hashes_are_well_formed(small_world):
    evm = re.compile(r"0x[0-9a-f]{40}")
    h = re.compile(r"0x[0-9a-f]{64}")
    with (small_world / "ethereum" / "transactions.csv").open() as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            assert (
                h.fullmatch(row["hash"])
                and evm.fullmatch(row["from_address"])
                and evm.fullmatch(row["to_address"])
            )
            assert row["input"].startswith("0x")
            if i > 5000:
                break
    kinds = set()
    with (small_world / "owners.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["chain"] == "bitcoin"]
    for r in rows[:: max(1, len(rows) // 3000)]:
        a = r["address"]
        parsed = CBitcoinAddress(a)  # verifies the bech32 / base58check checksum
        kinds.add(type(parsed).__name__)
    assert {"P2WPKHBitcoinAddress", "P2PKHBitcoinAddress"} <= kinds


def test_prices_cover_every_asset_and_day(small_world):
    with (small_world / "prices.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["symbol", "day", "usd"]
    syms = {r["symbol"] for r in rows}
    assert syms == {"ETH", "BTC", "USDT", "USDC", "WBTC"}
    assert len(rows) == 5 * 31
    assert all(float(r["usd"]) > 0 for r in rows)


@pytest.mark.parametrize("name", ["blocks", "transactions", "token_transfers", "traces", "tokens"])
def test_every_csv_row_has_the_header_width(small_world, name):
    with (small_world / "ethereum" / f"{name}.csv").open(newline="") as fh:
        rows = csv.reader(fh)
        width = len(next(rows))
        bad = [i for i, r in enumerate(rows) if len(r) != width]
    assert bad == []
