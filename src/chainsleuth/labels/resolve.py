"""One best label per address: direct tags, heuristic deposit addresses and labels spread over clusters.

This is the label view tracing and screening consult to decide exit points. Candidates per address:

* ``via='tag'``: tags on the address (chain-specific, or chain NULL = every chain);
* ``via='deposit-heuristic'``: EVM deposit addresses found by :mod:`chainsleuth.cluster.deposit`;
* ``via='cluster'``: the best owner-describing tag (:data:`PROPAGATING_CATEGORIES`) of the address's
  cluster, discounted by :data:`PROPAGATION_DISCOUNT` because the clustering may be wrong. A detected
  deposit address keeps its own label: its cluster is the customer's, not the exchange's.

The best candidate wins by confidence, then category specificity (:data:`CATEGORY_ORDER`: exit categories
first), then direct before inferred. Its ``actor`` falls back to the best other candidate that names one
(an OFAC list names no one; the GraphSense tag on the same address says 'lazarusgroup'), and ``entity`` is
the actor's display name where an ActorPack gives one.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from chainsleuth.labels.taxonomy import CATEGORY_ORDER, PROPAGATING_CATEGORIES

#: Confidence multiplier for a label inferred through a cluster rather than tagged on the address.
PROPAGATION_DISCOUNT = 0.9

COLUMNS = ["address", "label", "category", "actor", "source", "via", "entity"]


def _category_rank_sql() -> str:
    rows = ", ".join(f"('{c}', {i})" for i, c in enumerate(CATEGORY_ORDER))
    return f"SELECT * FROM (VALUES {rows}) AS r(category, rank)"


def _propagating_sql() -> str:
    return ", ".join(f"'{c}'" for c in sorted(PROPAGATING_CATEGORIES))


def candidates_sql() -> str:
    """SQL (parameter ``$chain``) for every label candidate of every address on the chain."""
    return f"""
    WITH direct AS (
        SELECT address, label, category, actor, source, confidence, 'tag' AS via, 0 AS via_rank
        FROM tags WHERE chain = $chain OR chain IS NULL
    ),
    deposits AS (
        SELECT address, exchange || ' deposit address' AS label, 'deposit' AS category, actor,
               'heuristic:deposit-address' AS source, confidence, 'deposit-heuristic' AS via, 1 AS via_rank
        FROM deposit_addresses WHERE chain = $chain
    ),
    member_tags AS (
        SELECT c.cluster_id, d.label, d.category, d.actor, d.source, coalesce(d.confidence, 0.5) AS confidence,
               r.rank
        FROM clusters c
        JOIN direct d ON d.address = c.address
        JOIN ({_category_rank_sql()}) r ON r.category = d.category
        WHERE c.chain = $chain AND d.category IN ({_propagating_sql()})
    ),
    cluster_best AS (
        SELECT cluster_id,
               arg_max(label, confidence * 100 - rank) AS label,
               arg_max(category, confidence * 100 - rank) AS category,
               arg_max(actor, confidence * 100 - rank) AS actor,
               arg_max(source, confidence * 100 - rank) AS source,
               max(confidence) AS confidence
        FROM member_tags GROUP BY cluster_id
    ),
    propagated AS (
        SELECT c.address, b.label,
               CASE WHEN b.category IN ('hot_wallet', 'deposit') THEN 'exchange' ELSE b.category END AS category,
               b.actor, b.source, b.confidence * {PROPAGATION_DISCOUNT} AS confidence,
               'cluster' AS via, 2 AS via_rank
        FROM clusters c JOIN cluster_best b USING (cluster_id)
        ANTI JOIN (SELECT address FROM deposit_addresses WHERE chain = $chain) dp ON dp.address = c.address
        WHERE c.chain = $chain
    )
    SELECT a.*, coalesce(r.rank, 99) AS category_rank
    FROM (SELECT * FROM direct UNION ALL SELECT * FROM deposits UNION ALL SELECT * FROM propagated) a
    LEFT JOIN ({_category_rank_sql()}) r ON r.category = a.category
    """


def address_labels(con: duckdb.DuckDBPyConnection, chain: str) -> pa.Table:
    """The best label of every labelled address on ``chain``.

    Columns: address, label, category, actor, source, via ('tag' | 'cluster' | 'deposit-heuristic'),
    entity (actor display name, else actor id, else label; NULL for CoinJoin participants, who are many
    owners). One row per address.
    """
    sql = f"""
    WITH cand AS ({candidates_sql()}),
    ordered AS (
        SELECT *, row_number() OVER (
            PARTITION BY address
            ORDER BY coalesce(confidence, 0.5) DESC, category_rank, via_rank, label, source) AS pos
        FROM cand
    ),
    actor_fill AS (
        SELECT address, arg_min(actor, pos) AS actor FROM ordered WHERE actor IS NOT NULL GROUP BY address
    )
    SELECT o.address, o.label, o.category, coalesce(o.actor, f.actor) AS actor, o.source, o.via,
           CASE WHEN o.category = 'coinjoin' THEN NULL  -- CoinJoin participants are many owners
                ELSE coalesce(ac.label, coalesce(o.actor, f.actor), o.label) END AS entity
    FROM ordered o
    LEFT JOIN actor_fill f USING (address)
    LEFT JOIN actors ac ON ac.actor = coalesce(o.actor, f.actor)
    WHERE o.pos = 1
    ORDER BY o.address
    """
    return con.sql(sql, params={"chain": chain}).to_arrow_table().select(COLUMNS)


def label_candidates(con: duckdb.DuckDBPyConnection, chain: str, address: str) -> list[dict]:
    """Every label candidate of one address, best first (for ``tags show`` / ``entity``)."""
    sql = f"""
    SELECT address, label, category, actor, source, confidence, via FROM ({candidates_sql()})
    WHERE address = $address
    ORDER BY coalesce(confidence, 0.5) DESC, category_rank, via_rank, label, source
    """
    cur = con.execute(sql, {"chain": chain, "address": address})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def describe_address(con: duckdb.DuckDBPyConnection, address: str, chain: str | None = None) -> dict:
    """Everything known about one address's labels: stored tags (with provenance) and, per chain where the
    address is tagged, clustered or a detected deposit address, the label candidates and the chosen best.

    Keys: address, tags[], chains[] {chain, best {label, category, actor, source, via, confidence} | null,
    candidates[]}.
    """
    from chainsleuth.labels.tagstore import normalize_any, normalize_for_chain, tags_of

    addr = normalize_for_chain(address, chain) if chain else normalize_any(address)
    tags = tags_of(con, addr, chain)
    if chain is not None:
        chains = [chain]
    else:
        chains = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT chain FROM (SELECT chain FROM tags WHERE address = $a AND chain IS NOT NULL "
                "UNION SELECT chain FROM clusters WHERE address = $a "
                "UNION SELECT chain FROM deposit_addresses WHERE address = $a) ORDER BY 1",
                {"a": addr},
            ).fetchall()
        ]
        if not chains and tags:
            chains = ["ethereum" if addr.startswith("0x") else "bitcoin"]
    per_chain = []
    for c in chains:
        cands = label_candidates(con, c, addr)
        per_chain.append({"chain": c, "best": cands[0] if cands else None, "candidates": cands})
    return {"address": addr, "tags": tags, "chains": per_chain}
