"""Simulator tests read the written files with DuckDB directly (not chainsleuth's loader), so that they check
the files on their own terms."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest


@pytest.fixture(scope="session")
def _world_con(small_world: Path):  # noqa: F811
    """An in-memory DuckDB with the small world's files as tables (amounts as HUGEINT)."""
    con = duckdb.connect()
    e, b = small_world / "ethereum", small_world / "bitcoin"
    for name in ("blocks", "transactions", "token_transfers", "traces", "tokens"):
        con.execute(
            f"CREATE TABLE eth_{name} AS SELECT * FROM read_csv('{e / (name + '.csv')}', all_varchar=true, "
            "header=true, nullstr='', delim=',', quote='\"', escape='\"')"
        )
    con.execute(
        f"CREATE TABLE btc_tx AS SELECT * FROM read_json('{b / 'transactions.json'}', format='newline_delimited', "
        "maximum_object_size=100000000)"
    )
    con.execute(
        f"CREATE TABLE btc_blocks AS SELECT * FROM read_json('{b / 'blocks.json'}', format='newline_delimited')"
    )
    con.execute("""CREATE TABLE btc_out AS SELECT hash AS tx, block_number, "index" AS tx_index, is_coinbase,
                   o.index AS vout, o.addresses[1] AS address, o.value::BIGINT AS value
                   FROM (SELECT hash, block_number, "index", is_coinbase, unnest(outputs) AS o FROM btc_tx)""")
    con.execute("""CREATE TABLE btc_in AS SELECT hash AS tx, block_number, "index" AS tx_index, i.index AS vin,
                   i.spent_transaction_hash AS spent_tx, i.spent_output_index AS spent_vout,
                   i.addresses[1] AS address, i.value::BIGINT AS value
                   FROM (SELECT hash, block_number, "index", unnest(inputs) AS i FROM btc_tx)""")
    # every EVM value movement: native values of successful txs, token logs, internal calls, genesis
    con.execute("""CREATE TABLE eth_moves AS
        SELECT t.block_number::BIGINT AS block, t.transaction_index::INT AS txi, 0 AS seq, t.hash AS tx,
               t.from_address AS frm, t.to_address AS "to", 'ETH' AS asset, t.value::HUGEINT AS amount
        FROM eth_transactions t WHERE t.receipt_status = '1' AND t.value <> '0'
        UNION ALL
        SELECT r.block_number::BIGINT, r.transaction_index::INT, 1 + coalesce(r.trace_address, '0')::INT, r.transaction_hash,
               r.from_address, r.to_address, 'ETH', r.value::HUGEINT
        FROM eth_traces r WHERE r.trace_type = 'call' AND coalesce(r.trace_address, '') <> '' AND r.status = '1'
        UNION ALL
        SELECT 0, -1, 0, NULL, NULL, r.to_address, 'ETH', r.value::HUGEINT FROM eth_traces r WHERE r.trace_type = 'genesis'
        UNION ALL
        SELECT l.block_number::BIGINT, tx.transaction_index::INT, 100 + l.log_index::INT, l.transaction_hash,
               l.from_address, l.to_address, l.token_address, l.value::HUGEINT
        FROM eth_token_transfers l JOIN eth_transactions tx ON tx.hash = l.transaction_hash""")
    con.execute("""CREATE TABLE eth_fees AS SELECT block_number::BIGINT AS block, transaction_index::INT AS txi, hash AS tx,
                   from_address AS payer, receipt_gas_used::HUGEINT * receipt_effective_gas_price::HUGEINT AS fee
                   FROM eth_transactions""")
    yield con
    con.close()


@pytest.fixture
def world_db(_world_con):
    """A fresh cursor per test on the shared world database (no result left open between tests)."""
    cur = _world_con.cursor()
    yield cur
    cur.close()


@pytest.fixture(scope="session")
def truth(small_world: Path) -> dict:  # noqa: F811
    return json.loads((small_world / "truth.json").read_text())
