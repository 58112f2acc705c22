"""Know-your-address: who an address is (labels, tags, notes, watch-list) and whom it dealt with.

These are the look-ups behind the API's address pages and the web UI's "expand neighbours": aggregated,
set-based queries over the flows relation (so UTXO chains work the same way), exact amounts per asset.
"""

from __future__ import annotations

from typing import Any, Literal

import duckdb

from chainsleuth.errors import ChainsleuthError, NotFoundError
from chainsleuth.model import normalize_address
from chainsleuth.screen.flows import chain_model, flows_sql, pick_basis
from chainsleuth.screen.labels import load_labels


def _rows(cur: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[dict[str, Any]]:
    res = cur.execute(sql, params or [])
    cols = [d[0] for d in res.description]
    return [dict(zip(cols, r, strict=True)) for r in res.fetchall()]


def address_profile(con: duckdb.DuckDBPyConnection, chain: str, address: str) -> dict[str, Any]:
    """Label, every tag, notes, watch-list entry and per-asset totals received/sent (exact, base units)."""
    model, native = chain_model(con, chain)
    address = normalize_address(address, chain)
    cur = con.cursor()
    try:
        load_labels(cur, chain, "_prof_labels")
        label = _rows(cur, "SELECT label, category, actor, entity, via, risk_type FROM _prof_labels WHERE address = ?",
                      [address])
        flows = flows_sql(model, pick_basis(cur, chain))
        p = {"chain": chain, "native": native, "as_of": None, "a": address}
        totals = _rows(
            cur,
            f"""WITH f AS ({flows})
            SELECT asset, coalesce(sum(amount::BIGNUM) FILTER (dst = $a), 0)::VARCHAR AS received,
                   coalesce(sum(amount::BIGNUM) FILTER (src = $a), 0)::VARCHAR AS sent,
                   count(*) FILTER (dst = $a) AS transfers_in, count(*) FILTER (src = $a) AS transfers_out,
                   min(block_time) AS first_seen, max(block_time) AS last_seen
            FROM f WHERE src = $a OR dst = $a GROUP BY asset ORDER BY asset""",
            p,
        )
        tags = _rows(
            cur,
            "SELECT label, category, actor, source, confidence, added_by, added_at, note FROM tags "
            "WHERE address = ? AND (chain = ? OR chain IS NULL) ORDER BY added_at",
            [address, chain],
        )
        notes = _rows(
            cur,
            "SELECT note_id, note, case_id, added_by, added_at FROM address_notes WHERE chain = ? AND address = ? "
            "ORDER BY note_id",
            [chain, address],
        )
        watch = _rows(
            cur, "SELECT label, case_id, source, parent_address, added_at, active FROM watchlist "
            "WHERE chain = ? AND address = ?", [chain, address]
        )
    finally:
        cur.close()
    return {
        "chain": chain,
        "address": address,
        "label": label[0] if label else None,
        "assets": totals,
        "tags": tags,
        "notes": notes,
        "watch": watch[0] if watch else None,
    }


def neighbours(
    con: duckdb.DuckDBPyConnection,
    chain: str,
    address: str,
    *,
    direction: Literal["in", "out", "both"] = "both",
    limit: int = 25,
    offset: int = 0,
) -> dict[str, Any]:
    """Counterparties of ``address``, one row per (counterparty, direction, asset), largest value first.

    Each row: address, direction, asset, amount (exact, decimal string), value (USD or native coins),
    transfers, first/last time, up to five tx hashes, and the counterparty's label and category.
    """
    if direction not in ("in", "out", "both"):
        raise ChainsleuthError(f"direction must be in, out or both, not {direction!r}")
    model, native = chain_model(con, chain)
    address = normalize_address(address, chain)
    cur = con.cursor()
    try:
        load_labels(cur, chain, "_nb_labels")
        basis = pick_basis(cur, chain)
        flows = flows_sql(model, basis)
        dirs = {"in": "dst = $a", "out": "src = $a", "both": "(src = $a OR dst = $a)"}[direction]
        p = {"chain": chain, "native": native, "as_of": None, "a": address}
        sql = f"""
            WITH f AS ({flows}),
            n AS (
                SELECT CASE WHEN dst = $a THEN src ELSE dst END AS address,
                       CASE WHEN dst = $a THEN 'in' ELSE 'out' END AS direction, asset,
                       sum(amount::BIGNUM) AS amount, sum(value) AS value, count(*) AS transfers,  -- BIGNUM: no HUGEINT overflow
                       min(block_time) AS first_time, max(block_time) AS last_time,
                       list(tx_hash ORDER BY amount DESC)[1:5] AS tx_hashes
                FROM f WHERE {dirs} GROUP BY ALL)
            SELECT n.address, n.direction, n.asset, n.amount::VARCHAR AS amount, n.value, n.transfers,
                   n.first_time, n.last_time, n.tx_hashes, l.label, l.category, l.entity, l.risk_type,
                   count(*) OVER () AS total
            FROM n LEFT JOIN _nb_labels l ON l.address = n.address
            ORDER BY n.value DESC NULLS LAST, n.amount DESC, n.address, n.direction, n.asset
            LIMIT $limit OFFSET $offset
        """
        items = _rows(cur, sql, {**p, "limit": limit, "offset": offset})
    finally:
        cur.close()
    total = items[0].pop("total") if items else 0
    for it in items[1:]:
        it.pop("total")
    return {"chain": chain, "address": address, "basis": basis, "items": items, "total": total,
            "limit": limit, "offset": offset}


def transaction(con: duckdb.DuckDBPyConnection, chain: str, tx_hash: str) -> dict[str, Any]:
    """The value movements of one transaction (exact amounts), for search by tx hash."""
    model, native = chain_model(con, chain)
    h = tx_hash.strip().lower() if model == "account" else tx_hash.strip()
    cur = con.cursor()
    try:
        flows = flows_sql(model, pick_basis(cur, chain))
        items = _rows(
            cur,
            f"""WITH f AS ({flows}) SELECT src AS "from", dst AS "to", asset, amount::VARCHAR AS amount, value,
                   block_number, block_time FROM f WHERE tx_hash = $h ORDER BY amount DESC""",
            {"chain": chain, "native": native, "as_of": None, "h": h},
        )
    finally:
        cur.close()
    if not items:
        raise NotFoundError(f"no value-moving transaction {tx_hash} on {chain}")
    return {"chain": chain, "tx_hash": h, "block_number": items[0]["block_number"],
            "time": items[0]["block_time"], "transfers": items}
