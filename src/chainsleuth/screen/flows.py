"""Value flows between addresses as one SQL relation, for account and UTXO chains alike.

Screening and watch-lists reason about "value that moved from address A to address B in transaction T".
On account chains that is a row of ``transfers``. On UTXO chains a transaction has no single sender, so each
output is split over the transaction's input addresses in proportion to what each put in -- the standard
"haircut" reading of a multi-input transaction (Möser, Böhme & Breuker, "Towards Risk Scoring of Bitcoin
Transactions", FC 2014). Self-flows (change back to a sender) are dropped: they move nothing.

Each relation has the columns ``chain, tx_hash, block_number, block_time, src, dst, asset, amount`` (exact
base units, HUGEINT) and ``value`` (DOUBLE, the basis that shares are computed in: USD, or whole native coins when
the database holds no prices; only the native asset counts then).
"""

from __future__ import annotations

from typing import Literal

import duckdb

from chainsleuth.errors import NotFoundError

Basis = Literal["usd", "native"]


def chain_model(con: duckdb.DuckDBPyConnection, chain: str) -> tuple[str, str]:
    """(model, native_asset) of a stored chain; NotFoundError if the chain was never ingested."""
    row = con.execute("SELECT model, native_asset FROM chains WHERE chain = ?", [chain]).fetchone()
    if row is None:
        known = [r[0] for r in con.execute("SELECT chain FROM chains ORDER BY 1").fetchall()]
        raise NotFoundError(f"chain {chain!r} is not in the database (stored: {', '.join(known) or 'none'})")
    return row[0], row[1]


def pick_basis(con: duckdb.DuckDBPyConnection, chain: str, basis: str = "auto") -> Basis:
    """``usd`` when prices for the chain's native asset are stored, else ``native`` (shares of native value)."""
    if basis in ("usd", "native"):
        return basis  # type: ignore[return-value]
    if basis != "auto":
        raise ValueError(f"unknown basis {basis!r}: auto, usd or native")
    _, native = chain_model(con, chain)
    n = con.execute(
        "SELECT count(*) FROM prices p JOIN assets a ON p.symbol = a.symbol WHERE a.chain = ? AND a.asset = ?",
        [chain, native],
    ).fetchone()[0]
    return "usd" if n else "native"


def flows_sql(model: str, basis: Basis) -> str:
    """A SELECT over the flows of one chain. Parameters, in order: chain, native_asset, as_of (TIMESTAMP or NULL).

    The USD value uses the day's price of the asset's symbol; flows in an unpriced asset get a NULL value and
    so weigh nothing in USD shares (their exact amounts stay available as evidence).
    """
    if model == "account":
        value = (
            "CAST(t.amount AS DOUBLE) / pow(10, coalesce(a.decimals, 18)) * p.usd"
            if basis == "usd"
            else "CASE WHEN t.asset = $native THEN CAST(t.amount AS DOUBLE) / pow(10, coalesce(a.decimals, 18)) END"
        )
        return f"""
            SELECT t.chain, t.tx_hash, t.block_number, t.block_time, t.from_address AS src,
                   t.to_address AS dst, t.asset, t.amount, {value} AS value, $native AS native_asset
            FROM transfers t
            LEFT JOIN assets a ON a.chain = t.chain AND a.asset = t.asset
            LEFT JOIN prices p ON p.symbol = a.symbol AND p.day = CAST(t.block_time AS DATE)
            WHERE t.chain = $chain AND t.from_address IS NOT NULL AND t.to_address IS NOT NULL
              AND t.from_address <> t.to_address AND t.amount > 0
              AND ($as_of IS NULL OR t.block_time <= $as_of)
        """
    value = (
        "CAST(o.v AS DOUBLE) * i.v / tt.tv / 1e8 * p.usd" if basis == "usd" else "CAST(o.v AS DOUBLE) * i.v / tt.tv / 1e8"
    )
    return f"""
        WITH ins AS (
            SELECT tx_hash, address, sum(value) AS v FROM utxo_inputs
            WHERE chain = $chain AND address IS NOT NULL AND value > 0
              AND ($as_of IS NULL OR block_time <= $as_of)
            GROUP BY ALL),
        tt AS (SELECT tx_hash, sum(v) AS tv FROM ins GROUP BY 1),
        outs AS (
            SELECT tx_hash, block_number, block_time, address, sum(value) AS v FROM utxo_outputs
            WHERE chain = $chain AND address IS NOT NULL AND value > 0
              AND ($as_of IS NULL OR block_time <= $as_of)
            GROUP BY ALL)
        SELECT $chain AS chain, o.tx_hash, o.block_number, o.block_time, i.address AS src, o.address AS dst,
               $native AS asset, CAST(o.v AS HUGEINT) * i.v // tt.tv AS amount,
               {value} AS value, $native AS native_asset
        FROM outs o JOIN ins i ON i.tx_hash = o.tx_hash JOIN tt ON tt.tx_hash = o.tx_hash
        LEFT JOIN assets a ON a.chain = $chain AND a.asset = $native
        LEFT JOIN prices p ON p.symbol = a.symbol AND p.day = CAST(o.block_time AS DATE)
        WHERE i.address <> o.address
    """
