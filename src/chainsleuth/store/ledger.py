"""Ledger-level store helpers shared by all ingesters: chain registration and what-is-stored summaries."""

from __future__ import annotations

import duckdb

from chainsleuth.model import chain_info


def ensure_chain(con: duckdb.DuckDBPyConnection, chain: str, model: str | None = None) -> None:
    """Register ``chain`` and its native asset if they are not yet known (idempotent)."""
    info = chain_info(chain, model)
    con.execute(
        "INSERT INTO chains (chain, model, native_asset, native_decimals, address_format) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [info.chain, info.model.value, info.native_asset, info.native_decimals, info.address_format],
    )
    con.execute(
        "INSERT INTO assets (chain, asset, symbol, name, decimals, contract) VALUES (?, ?, ?, ?, ?, NULL) "
        "ON CONFLICT DO NOTHING",
        [info.chain, info.native_asset, info.native_asset, info.native_asset, info.native_decimals],
    )


def summary(con: duckdb.DuckDBPyConnection) -> dict:
    """What is stored: per chain its block range, time range and row counts; assets; prices; tags."""
    chains = []
    for chain, model, native, traces in con.execute(
        "SELECT chain, model, native_asset, traces FROM chains ORDER BY chain"
    ).fetchall():
        blocks = con.execute(
            "SELECT min(number), max(number), count(*), min(block_time), max(block_time) FROM blocks WHERE chain = ?",
            [chain],
        ).fetchone()
        counts = {
            "transactions": "SELECT count(*) FROM transactions WHERE chain = ?",
            "transfers": "SELECT count(*) FROM transfers WHERE chain = ?",
            "utxo_outputs": "SELECT count(*) FROM utxo_outputs WHERE chain = ?",
            "utxo_inputs": "SELECT count(*) FROM utxo_inputs WHERE chain = ?",
        }
        rows = {name: con.execute(sql, [chain]).fetchone()[0] for name, sql in counts.items()}
        kinds = dict(
            con.execute(
                "SELECT kind, count(*) FROM transfers WHERE chain = ? GROUP BY kind ORDER BY kind", [chain]
            ).fetchall()
        )
        overflow = con.execute(
            "SELECT count(*) FROM transfers WHERE chain = ? AND amount IS NULL AND amount_overflow IS NOT NULL",
            [chain],
        ).fetchone()[0]
        assets = [
            {"asset": a, "symbol": s, "decimals": d, "transfers": n}
            for a, s, d, n in con.execute(
                "SELECT a.asset, a.symbol, a.decimals, count(t.asset) FROM assets a "
                "LEFT JOIN transfers t ON t.chain = a.chain AND t.asset = a.asset "
                "WHERE a.chain = ? GROUP BY ALL ORDER BY 4 DESC, 1",
                [chain],
            ).fetchall()
        ]
        chains.append(
            {
                "chain": chain,
                "model": model,
                "native_asset": native,
                "traces_ingested": traces,
                "blocks": {"first": blocks[0], "last": blocks[1], "count": blocks[2]},
                "time": {"first": blocks[3], "last": blocks[4]},
                "rows": rows,
                "transfers_by_kind": kinds,
                "oversized_amounts": overflow,
                "assets": assets,
            }
        )
    prices = con.execute("SELECT count(*), count(DISTINCT symbol), min(day), max(day) FROM prices").fetchone()
    tags = con.execute("SELECT count(*), count(DISTINCT source) FROM tags").fetchone()
    return {
        "chains": chains,
        "prices": {"rows": prices[0], "symbols": prices[1], "first_day": prices[2], "last_day": prices[3]},
        "tags": {"rows": tags[0], "sources": tags[1]},
    }
