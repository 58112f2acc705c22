"""Pull the subgraph a trace needs from DuckDB with set-based, time-restricted queries.

Frontier expansion is a hop-bounded earliest-arrival search (Bellman-Ford over time-respecting paths): in
hop h every address on the frontier passes reachability to the receivers of its transfers at or after the
block it became reachable, and an address re-enters the frontier only when it is reached *earlier* than
before. Backward expansion mirrors it (latest departure). Labelled services are reached but not expanded.
A DEX in the same transaction carries reachability to whoever the swap pays (swap-and-send).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np


def params(sql: str, **values: object) -> dict[str, object]:
    """The named parameters ``sql`` uses (DuckDB rejects unused ones)."""
    return {k: v for k, v in values.items() if f"${k}" in sql}


@dataclass
class Reach:
    id: np.ndarray  # address ids reached
    blk: np.ndarray  # first (forward) / last (backward) block at which taint can be there
    hop: np.ndarray  # hop at which it was first reached
    stop: np.ndarray  # bool: a service (not expanded)


@dataclass
class Edges:
    block: np.ndarray
    time_day: np.ndarray  # days since 1970-01-01 (for prices)
    tx_index: np.ndarray
    seq: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    asset: np.ndarray
    amount: np.ndarray
    is_fee: np.ndarray
    rid: np.ndarray


def expand(
    con: duckdb.DuckDBPyConnection,
    chain: str,
    direction: str,
    start: list[tuple[int, int]],
    max_hops: int,
    lo: int,
    hi: int,
) -> tuple[Reach, int]:
    """Expand from ``start`` [(address id, block)] within blocks [lo, hi]; uses temp tables ``_tr_stop``
    (ids not expanded) and ``_tr_swap`` (DEX ids). Leaves the result in temp table ``_tr_reach``."""
    fw = direction == "forward"
    con.execute("CREATE OR REPLACE TEMP TABLE _tr_reach (id INTEGER PRIMARY KEY, blk BIGINT, hop INTEGER, "
                "stop BOOLEAN)")
    con.execute("CREATE OR REPLACE TEMP TABLE _tr_front (id INTEGER, blk BIGINT)")
    if start:
        con.execute(
            "INSERT INTO _tr_front SELECT unnest(?::INTEGER[]), unnest(?::BIGINT[])",
            [[s[0] for s in start], [s[1] for s in start]],
        )
    agg = "min" if fw else "max"
    con.execute(
        f"INSERT INTO _tr_reach SELECT f.id, {agg}(f.blk), 0, FALSE FROM _tr_front f GROUP BY f.id"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _tr_front AS SELECT id, blk FROM _tr_reach")
    has_swap = con.execute("SELECT count(*) FROM _tr_swap").fetchone()[0] > 0
    near, far = ("src", "dst") if fw else ("dst", "src")
    cmp = ">=" if fw else "<="
    hops_done = 0
    for h in range(1, max_hops + 1):
        sql = f"""
            SELECT e.{far} AS id, {agg}(e.block_number) AS blk
            FROM trace_edges e JOIN _tr_front f ON e.{near} = f.id AND e.block_number {cmp} f.blk
            WHERE e.chain = $chain AND e.{far} >= 0 AND e.block_number BETWEEN $lo AND $hi
            GROUP BY 1"""
        if has_swap:
            sql += f"""
            UNION ALL
            SELECT e2.{far}, {agg}(e2.block_number)
            FROM trace_edges e1 JOIN _tr_front f ON e1.{near} = f.id AND e1.block_number {cmp} f.blk
            JOIN _tr_swap d1 ON e1.{far} = d1.id
            JOIN trace_edges e2 ON e2.chain = e1.chain AND e2.block_number = e1.block_number
                 AND e2.tx_index = e1.tx_index
            JOIN _tr_swap d2 ON e2.{near} = d2.id
            WHERE e1.chain = $chain AND e2.{far} >= 0 AND e1.block_number BETWEEN $lo AND $hi
              AND e2.{far} NOT IN (SELECT id FROM _tr_swap)
            GROUP BY 1"""
        con.execute(f"CREATE OR REPLACE TEMP TABLE _tr_hit AS {sql}", params(sql, chain=chain, lo=lo, hi=hi))
        better = "h.blk < r.blk" if fw else "h.blk > r.blk"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _tr_front AS
            SELECT h.id, {agg}(h.blk) AS blk FROM _tr_hit h LEFT JOIN _tr_reach r ON r.id = h.id
            WHERE r.id IS NULL OR {better} GROUP BY h.id"""
        )
        n = con.execute("SELECT count(*) FROM _tr_front").fetchone()[0]
        if n == 0:
            break
        hops_done = h
        con.execute(
            f"""INSERT INTO _tr_reach SELECT f.id, f.blk, {h}, s.id IS NOT NULL FROM _tr_front f
            LEFT JOIN _tr_stop s ON s.id = f.id
            ON CONFLICT (id) DO UPDATE SET blk = excluded.blk"""
        )
        con.execute("DELETE FROM _tr_front WHERE id IN (SELECT id FROM _tr_stop)")
    r = con.execute("SELECT id, blk, hop, stop FROM _tr_reach ORDER BY id").fetchnumpy()
    return Reach(r["id"].astype(np.int64), r["blk"].astype(np.int64), r["hop"].astype(np.int64),
                 r["stop"].astype(bool)), hops_done


def pull(con: duckdb.DuckDBPyConnection, chain: str, direction: str, lo: int, hi: int) -> tuple[Edges, dict]:
    """Every transfer in the window of a reached, non-service address, and each such address's balance per
    asset before its window (forward: before the block it became reachable; backward: before ``lo``)."""
    fw = direction == "forward"
    win = "e.block_number >= r.blk AND e.block_number <= $hi" if fw else \
        "e.block_number <= r.blk AND e.block_number >= $lo"
    cols = "e.block_number, e.block_time, e.tx_index, e.seq, e.src, e.dst, e.asset, e.amount, e.is_fee, e.rid"
    sql = f"""CREATE OR REPLACE TEMP TABLE _tr_sub AS
        SELECT {cols} FROM trace_edges e JOIN _tr_reach r ON e.src = r.id
        WHERE e.chain = $chain AND NOT r.stop AND {win}
        UNION
        SELECT {cols} FROM trace_edges e JOIN _tr_reach r ON e.dst = r.id
        WHERE e.chain = $chain AND NOT r.stop AND {win}"""
    con.execute(sql, params(sql, chain=chain, lo=lo, hi=hi))
    d = con.execute(
        """SELECT block_number, (block_time::DATE - DATE '1970-01-01')::BIGINT AS day, tx_index, seq, src, dst,
                  asset, amount, is_fee, rid
           FROM _tr_sub ORDER BY block_number, tx_index, seq, rid"""
    ).fetchnumpy()
    edges = Edges(
        block=d["block_number"].astype(np.int64), time_day=d["day"].astype(np.int64),
        tx_index=d["tx_index"].astype(np.int64), seq=d["seq"].astype(np.int64), src=d["src"].astype(np.int64),
        dst=d["dst"].astype(np.int64), asset=d["asset"].astype(np.int64), amount=d["amount"].astype(np.float64),
        is_fee=d["is_fee"].astype(bool), rid=d["rid"].astype(np.int64),
    )
    before = "e.block_number < r.blk" if fw else "e.block_number < $lo"
    sql = f"""SELECT id, asset, sum(v) FROM (
            SELECT r.id, e.asset, e.amount AS v FROM trace_edges e JOIN _tr_reach r ON e.dst = r.id
            WHERE e.chain = $chain AND NOT r.stop AND {before}
            UNION ALL
            SELECT r.id, e.asset, -e.amount FROM trace_edges e JOIN _tr_reach r ON e.src = r.id
            WHERE e.chain = $chain AND NOT r.stop AND {before}
        ) GROUP BY id, asset HAVING sum(v) > 0"""
    b0_rows = con.execute(sql, params(sql, chain=chain, lo=lo)).fetchall()
    return edges, {(int(i), int(a)): float(v) for i, a, v in b0_rows}
