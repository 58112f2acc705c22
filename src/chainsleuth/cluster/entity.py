"""The entity behind an address: its cluster, labels, balances, activity span and top counterparties.

All figures are computed in SQL over the cluster's member addresses (the address alone if it is in no
cluster). Balances are exact integers in base units: on account chains received - sent - gas fees paid
(native asset only); on UTXO chains the value of unspent outputs. Counterparties are ranked by USD value
where a price is known, else by amount.
"""

from __future__ import annotations

import duckdb

from chainsleuth.errors import NotFoundError
from chainsleuth.labels.resolve import label_candidates
from chainsleuth.labels.tagstore import normalize_for_chain
from chainsleuth.model import Model, chain_info


def default_chain(address: str) -> str:
    a = address.strip()
    if a.startswith("0x"):
        return "ethereum"
    if a.startswith("T") and len(a) == 34:
        return "tron"
    return "bitcoin"


def _q(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> duckdb.DuckDBPyConnection:
    """Execute with only the named parameters the statement uses (DuckDB rejects extra ones)."""
    return con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> list[dict]:
    cur = _q(con, sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def entity(con: duckdb.DuckDBPyConnection, address: str, chain: str | None = None, *, top: int = 10) -> dict:
    """Everything about the entity controlling ``address``.

    Keys: address, chain, cluster {id, size, heuristics{name: n}, members[] (first 100) {address, heuristic,
    evidence_tx}}, label (best label of the address or null), entity (name or null), tags[] (tags of all
    members: address, label, category, actor, source, confidence), deposit_of (exchange, hot_wallet,
    evidence_txs) or null, balances[] {asset, symbol, decimals, amount}, first_seen, last_seen, transfers,
    counterparties[] {address, asset, symbol, sent, received, transfers, usd, label}.
    """
    chain = chain or default_chain(address)
    addr = normalize_for_chain(address, chain)
    model_row = con.execute("SELECT model FROM chains WHERE chain = ?", [chain]).fetchall()
    model = model_row[0][0] if model_row else chain_info(chain).model.value
    p = {"chain": chain, "addr": addr}
    _q(
        con,
        """
        CREATE OR REPLACE TEMP TABLE _ent_members AS
        SELECT address, heuristic, evidence_tx FROM clusters
        WHERE chain = $chain AND cluster_id = (SELECT any_value(cluster_id) FROM clusters
                                               WHERE chain = $chain AND address = $addr)
        UNION ALL SELECT $addr, 'root', NULL
        WHERE NOT EXISTS (SELECT 1 FROM clusters WHERE chain = $chain AND address = $addr)
        """,
        p,
    )
    cid = _q(con, "SELECT any_value(cluster_id) FROM clusters WHERE chain = $chain AND address = $addr", p)
    cluster_id = cid.fetchall()[0][0]
    size = con.execute("SELECT count(*) FROM _ent_members").fetchall()[0][0]
    heur = dict(con.execute("SELECT heuristic, count(*) FROM _ent_members GROUP BY 1 ORDER BY 1").fetchall())
    members = _rows(con, "SELECT * FROM _ent_members ORDER BY address = $addr DESC, address LIMIT 100", p)
    tags = _rows(
        con,
        "SELECT t.address, t.label, t.category, t.actor, t.source, t.confidence FROM tags t "
        "SEMI JOIN _ent_members m ON m.address = t.address WHERE t.chain = $chain OR t.chain IS NULL "
        "ORDER BY t.confidence DESC NULLS LAST, t.address LIMIT 200",
        p,
    )
    cands = label_candidates(con, chain, addr)
    best = cands[0] if cands else None
    ent_name = None
    if best is not None and best["category"] != "coinjoin":
        actor = best["actor"] or next((c["actor"] for c in cands if c["actor"]), None)
        row = con.execute("SELECT label FROM actors WHERE actor = ?", [actor]).fetchall() if actor else []
        ent_name = row[0][0] if row else (actor or best["label"])
    dep = _rows(
        con,
        "SELECT exchange, hot_wallet, asset, received, forwarded, senders, evidence_txs FROM deposit_addresses "
        "WHERE chain = $chain AND address = $addr ORDER BY forwarded DESC",
        p,
    )
    activity = _utxo_activity(con, p, top) if model == Model.UTXO else _account_activity(con, p, top)
    con.execute("DROP TABLE IF EXISTS _ent_members")
    if activity["transfers"] == 0 and size == 1 and not tags and not dep:
        raise NotFoundError(f"{addr} has no activity, cluster or tags on {chain}")
    return {
        "address": addr,
        "chain": chain,
        "cluster": {"id": cluster_id, "size": size, "heuristics": heur, "members": members},
        "label": best,
        "entity": ent_name,
        "tags": tags,
        "deposit_of": dep[0] if dep else None,
        **activity,
    }


def _account_activity(con: duckdb.DuckDBPyConnection, p: dict, top: int) -> dict:
    _q(
        con,
        """
        CREATE OR REPLACE TEMP TABLE _ent_tr AS
        SELECT t.*, t.to_address IN (SELECT address FROM _ent_members) AS incoming,
               t.from_address IN (SELECT address FROM _ent_members) AS outgoing
        FROM transfers t
        WHERE t.chain = $chain AND t.amount IS NOT NULL
          AND (t.to_address IN (SELECT address FROM _ent_members) OR t.from_address IN (SELECT address FROM _ent_members))
        """,
        p,
    )
    balances = _rows(
        con,
        """
        WITH flows AS (
            SELECT asset, sum(CASE WHEN incoming THEN amount ELSE 0 END)
                        - sum(CASE WHEN outgoing THEN amount ELSE 0 END) AS amount
            FROM _ent_tr GROUP BY asset
            UNION ALL
            SELECT c.native_asset, -sum(x.fee) FROM transactions x JOIN chains c ON c.chain = x.chain
            WHERE x.chain = $chain AND x.fee IS NOT NULL AND x.from_address IN (SELECT address FROM _ent_members)
            GROUP BY c.native_asset
        )
        SELECT f.asset, a.symbol, a.decimals, sum(f.amount)::HUGEINT AS amount
        FROM flows f LEFT JOIN assets a ON a.chain = $chain AND a.asset = f.asset
        GROUP BY ALL ORDER BY f.asset
        """,
        p,
    )
    span = con.execute("SELECT min(block_time), max(block_time), count(*) FROM _ent_tr").fetchall()[0]
    counterparties = _rows(
        con,
        f"""
        WITH legs AS (
            SELECT CASE WHEN outgoing THEN to_address ELSE from_address END AS address, asset, block_time,
                   CASE WHEN outgoing THEN amount ELSE 0 END AS sent,
                   CASE WHEN incoming THEN amount ELSE 0 END AS received
            FROM _ent_tr WHERE NOT (incoming AND outgoing)
        )
        SELECT l.address, l.asset, any_value(a.symbol) AS symbol, sum(l.sent)::HUGEINT AS sent,
               sum(l.received)::HUGEINT AS received, count(*) AS transfers,
               sum((l.sent + l.received)::DOUBLE / pow(10, a.decimals) * pr.usd) AS usd
        FROM legs l
        LEFT JOIN assets a ON a.chain = $chain AND a.asset = l.asset
        LEFT JOIN prices pr ON pr.symbol = a.symbol AND pr.day = l.block_time::DATE
        WHERE l.address IS NOT NULL
        GROUP BY l.address, l.asset
        ORDER BY usd DESC NULLS LAST, sum(l.sent) + sum(l.received) DESC, l.address
        LIMIT {int(top)}
        """,
        p,
    )
    con.execute("DROP TABLE IF EXISTS _ent_tr")
    _label_counterparties(con, p["chain"], counterparties)
    return {"balances": balances, "first_seen": span[0], "last_seen": span[1], "transfers": span[2],
            "counterparties": counterparties}


def _utxo_activity(con: duckdb.DuckDBPyConnection, p: dict, top: int) -> dict:
    native = _q(con, "SELECT native_asset FROM chains WHERE chain = $chain", p).fetchall()
    asset = native[0][0] if native else chain_info(p["chain"]).native_asset
    bal = _q(
        con,
        """
        SELECT coalesce(sum(o.value), 0)::HUGEINT FROM utxo_outputs o
        SEMI JOIN _ent_members m ON m.address = o.address
        ANTI JOIN (SELECT spent_tx_hash, spent_output_index FROM utxo_inputs WHERE chain = $chain) i
          ON i.spent_tx_hash = o.tx_hash AND i.spent_output_index = o.output_index
        WHERE o.chain = $chain
        """,
        p,
    ).fetchall()[0][0]
    span = _q(
        con,
        """
        SELECT min(t), max(t), count(*) FROM (
            SELECT block_time AS t FROM utxo_outputs o SEMI JOIN _ent_members m ON m.address = o.address
            WHERE o.chain = $chain
            UNION ALL
            SELECT block_time FROM utxo_inputs i SEMI JOIN _ent_members m ON m.address = i.address
            WHERE i.chain = $chain)
        """,
        p,
    ).fetchall()[0]
    counterparties = _rows(
        con,
        f"""
        WITH spend_tx AS (SELECT DISTINCT tx_hash FROM utxo_inputs i SEMI JOIN _ent_members m USING (address)
                          WHERE i.chain = $chain),
        recv_tx AS (SELECT DISTINCT tx_hash FROM utxo_outputs o SEMI JOIN _ent_members m USING (address)
                    WHERE o.chain = $chain),
        sent AS (SELECT o.address, o.value AS sent, 0 AS received, o.block_time FROM utxo_outputs o
                 SEMI JOIN spend_tx USING (tx_hash) ANTI JOIN _ent_members m USING (address)
                 WHERE o.chain = $chain AND o.address IS NOT NULL),
        recv AS (SELECT i.address, 0 AS sent, sum(o.value) AS received, any_value(o.block_time) AS block_time
                 FROM utxo_inputs i JOIN utxo_outputs o ON o.chain = i.chain AND o.tx_hash = i.tx_hash
                 SEMI JOIN _ent_members m ON m.address = o.address
                 ANTI JOIN spend_tx s ON s.tx_hash = i.tx_hash
                 WHERE i.chain = $chain AND i.tx_hash IN (SELECT tx_hash FROM recv_tx) AND i.address IS NOT NULL
                 GROUP BY i.address, i.tx_hash)
        SELECT l.address, '{asset}' AS asset, '{asset}' AS symbol, sum(l.sent)::HUGEINT AS sent,
               sum(l.received)::HUGEINT AS received, count(*) AS transfers,
               sum((l.sent + l.received)::DOUBLE / 1e8 * pr.usd) AS usd
        FROM (SELECT * FROM sent UNION ALL SELECT * FROM recv) l
        LEFT JOIN prices pr ON pr.symbol = '{asset}' AND pr.day = l.block_time::DATE
        GROUP BY l.address ORDER BY usd DESC NULLS LAST, sum(l.sent) + sum(l.received) DESC, l.address LIMIT {int(top)}
        """,
        p,
    )
    _label_counterparties(con, p["chain"], counterparties)
    return {
        "balances": [{"asset": asset, "symbol": asset, "decimals": 8, "amount": bal}],
        "first_seen": span[0], "last_seen": span[1], "transfers": span[2], "counterparties": counterparties,
    }


def _label_counterparties(con: duckdb.DuckDBPyConnection, chain: str, rows: list[dict]) -> None:
    for r in rows:
        cands = label_candidates(con, chain, r["address"])
        r["label"] = cands[0]["label"] if cands else None
