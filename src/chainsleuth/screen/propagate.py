"""Exposure as forward haircut propagation over flows, hop by hop: linear in the ledger, the same result for
one address and for a whole chain.

Definition (haircut taint, Möser, Böhme & Breuker, "Towards Risk Scoring of Bitcoin Transactions", FC 2014
workshops, made time-respecting per flow). Every flow g (a row of :func:`chainsleuth.screen.flows.flows_sql`
with value > 0) carries, for each risky source S and hop k, the fraction a_k(S, g) of its value that came
from S in exactly k flows:

* a_1(S, g) = 1 when S sent g (S has an incident, sanctioned or mixer label);
* a_{k+1}(S, g) = tainted(S, k, X, t_g) / inflow(X, t_g) for a flow g that X sends at time t_g, where
  inflow(X, t) is all value X received up to t and tainted(...) the part of it carrying a_k(S, .) -- so a
  later deposit never explains an earlier payment. Risky senders, pooling services (exchanges, hot
  wallets, deposit addresses, OTC desks, DEX pools, bridges) and burn addresses pass nothing on
  (:mod:`chainsleuth.screen.labels`): their payments do not mix customers' histories.
* fractions below ``min_weight`` are not followed (they cannot move a risk level).

The exposure of a target T to S at hop k is sum(value_g * a_k(S, g)) / inflow(T) over the flows g that T
received; its evidence is those flows, largest tainted value first. Each hop is a few set-based statements
(an ASOF join finds the tainted inflow before each payment), so a whole chain costs
O(hops x sources reached x flows) rather than a walk per address; and the Spark engine
(:mod:`chainsleuth.spark.exposure`) runs the same statements as DataFrame joins.

For a few targets the propagation runs on their *backward cone* only: the flows that can reach them within
``hops`` flows, each no later than the flow it feeds. Every fraction that reaches a target within ``hops``
depends only on flows inside that cone (inflow totals still come from the whole ledger), so screening one
address gives exactly what screening the whole chain gives for it.
"""

from __future__ import annotations

from typing import Any

import duckdb

from chainsleuth.screen.labels import STOP_ADDRESSES

_FLOW = "src, dst, block_time AS t, value AS v, tx_hash, asset, amount"
# Temp tables read by :func:`chainsleuth.screen.exposure.collect_results`:
#   _scr_received (target, value, n) and _scr_exposure (hop, target, src, via, risk_type, w, value, n_tx, evidence)
EXPOSURE_COLUMNS = "hop INTEGER, target VARCHAR, src VARCHAR, via VARCHAR, risk_type VARCHAR, w DOUBLE, " \
                   "value DOUBLE, n_tx BIGINT, evidence JSON"


def propagate(
    cur: duckdb.DuckDBPyConnection,
    flows: str,
    params: dict[str, Any],
    *,
    hops: int,
    min_weight: float,
    evidence_per_source: int,
    whole_chain: bool,
) -> None:
    """Fill ``_scr_received`` and ``_scr_exposure`` for the targets in ``_scr_targets`` (``whole_chain``:
    every address that received value, which also fills ``_scr_targets``), given labels in ``_scr_labels``.

    ``flows`` is the SELECT of :func:`~chainsleuth.screen.flows.flows_sql` and ``params`` its parameters.
    """
    cur.execute("CREATE OR REPLACE TEMP TABLE _scr_risky AS SELECT address, risk_type FROM _scr_labels "
                "WHERE risk_type IS NOT NULL")
    cur.execute("CREATE OR REPLACE TEMP TABLE _scr_nopass AS SELECT address FROM _scr_labels "
                "WHERE risk_type IS NOT NULL OR coalesce(is_stop, false) UNION SELECT unnest(?::VARCHAR[])",
                [list(STOP_ADDRESSES)])
    if whole_chain:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE _scr_f AS SELECT row_number() OVER () AS fid, {_FLOW} "
                    f"FROM ({flows}) WHERE value > 0", params)
        cur.execute("CREATE OR REPLACE TEMP TABLE _scr_targets AS SELECT DISTINCT dst AS target FROM _scr_f")
    else:
        _cone(cur, flows, params, hops)
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _scr_received AS SELECT t.target, coalesce(sum(f.v), 0) AS value, "
        "count(f.fid) AS n FROM _scr_targets t LEFT JOIN _scr_f f ON f.dst = t.target GROUP BY 1"
    )
    if hops > 1:  # payments that pass taint on: from a passable address, with the sender's inflow up to then
        cur.execute(
            """
            CREATE OR REPLACE TEMP TABLE _scr_pay AS
            WITH g AS (SELECT fid, src, t FROM _scr_f g ANTI JOIN _scr_nopass n ON n.address = g.src),
            cum AS (SELECT dst AS address, t, sum(sum(v)) OVER (PARTITION BY dst ORDER BY t) AS cum
                    FROM _scr_f SEMI JOIN (SELECT DISTINCT src FROM g) s ON s.src = _scr_f.dst GROUP BY dst, t)
            SELECT g.fid, g.src, g.t, cum.cum AS den FROM g ASOF JOIN cum ON cum.address = g.src AND cum.t <= g.t
            """
        )
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _scr_a AS SELECT r.address AS s, r.risk_type, f.fid, 1.0::DOUBLE AS a "
        "FROM _scr_f f JOIN _scr_risky r ON r.address = f.src"
    )
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _scr_exposure ({EXPOSURE_COLUMNS})")
    n_evidence = int(evidence_per_source)
    for hop in range(1, hops + 1):
        cur.execute(
            f"""
            INSERT INTO _scr_exposure
            WITH e AS (
                SELECT a.s, a.risk_type, f.dst AS target, f.v * a.a AS tv, f.v, f.src, f.t, f.tx_hash, f.asset,
                       f.amount
                FROM _scr_a a JOIN _scr_f f ON f.fid = a.fid SEMI JOIN _scr_targets x ON x.target = f.dst),
            g AS (
                SELECT target, s, risk_type, sum(tv) AS value, count(*) AS n_tx,
                       list({{'tx_hash': tx_hash, 'time': strftime(t, '%Y-%m-%dT%H:%M:%S'), 'from': src,
                              'asset': asset, 'amount': amount::VARCHAR, 'value': v, 'tainted_value': tv}}
                            ORDER BY tv DESC, tx_hash, src, asset, amount)[1:{n_evidence}] AS evidence
                FROM e GROUP BY target, s, risk_type)
            SELECT {hop}, g.target, g.s, g.evidence[1]['from'], g.risk_type, g.value / r.value, g.value, g.n_tx,
                   to_json(g.evidence)
            FROM g JOIN _scr_received r ON r.target = g.target
            """
        )
        if hop == hops:
            break
        # Tainted inflow of every passable receiver, cumulated in time; then each later payment's fraction.
        cur.execute(
            """
            CREATE OR REPLACE TEMP TABLE _scr_tin AS
            SELECT a.s, a.risk_type, f.dst AS x, f.t,
                   sum(sum(f.v * a.a)) OVER (PARTITION BY a.s, f.dst ORDER BY f.t) AS tcum
            FROM _scr_a a JOIN _scr_f f ON f.fid = a.fid ANTI JOIN _scr_nopass n ON n.address = f.dst
            GROUP BY a.s, a.risk_type, f.dst, f.t
            """
        )
        cur.execute(
            """
            CREATE OR REPLACE TEMP TABLE _scr_a AS
            WITH first AS (SELECT s, risk_type, x, min(t) AS t0 FROM _scr_tin GROUP BY ALL),
            c AS (SELECT first.s, first.risk_type, p.fid, p.src, p.t, p.den
                  FROM first JOIN _scr_pay p ON p.src = first.x AND p.t >= first.t0)
            SELECT c.s, c.risk_type, c.fid, tin.tcum / c.den AS a
            FROM c ASOF JOIN _scr_tin tin ON tin.s = c.s AND tin.x = c.src AND tin.t <= c.t
            WHERE tin.tcum / c.den >= ?
            """,
            [min_weight],
        )


def _cone(cur: duckdb.DuckDBPyConnection, flows: str, params: dict[str, Any], hops: int) -> None:
    """``_scr_f``: only the flows that can reach a target in ``_scr_targets`` within ``hops`` flows, each no
    later than the flow it feeds and never through a risky or pooling address.

    Every receiver's inflows are read once, up to the latest payment of its that the cone holds (a receiver
    reached again with a later payment reads only the missing time range), so nothing is read twice. The
    inflow totals of each payment's sender are complete wherever the payment can still pass taint on to a
    target within ``hops``.
    """
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _scr_f AS SELECT row_number() OVER () AS fid, {_FLOW} "
                f"FROM ({flows}) f SEMI JOIN _scr_targets x ON x.target = f.dst WHERE f.value > 0", params)
    cur.execute("CREATE OR REPLACE TEMP TABLE _scr_read AS SELECT target AS address, NULL::TIMESTAMP AS t "
                "FROM _scr_targets")  # t NULL: every inflow read
    for _ in range(hops - 1):
        cur.execute(
            """
            CREATE OR REPLACE TEMP TABLE _scr_delta AS
            WITH want AS (SELECT src AS address, max(t) AS t FROM _scr_f ANTI JOIN _scr_nopass n
                          ON n.address = _scr_f.src GROUP BY 1)
            SELECT w.address, r.t AS lo, w.t AS hi, r.address IS NOT NULL AS seen FROM want w
            LEFT JOIN _scr_read r ON r.address = w.address
            WHERE r.address IS NULL OR (r.t IS NOT NULL AND w.t > r.t)
            """
        )
        if not cur.execute("SELECT count(*) FROM _scr_delta").fetchall()[0][0]:
            break
        cur.execute(
            f"""
            INSERT INTO _scr_f
            SELECT (SELECT coalesce(max(fid), 0) FROM _scr_f) + row_number() OVER (), {_FLOW}
            FROM ({flows}) f JOIN _scr_delta d ON d.address = f.dst AND f.block_time <= d.hi
                                              AND (d.lo IS NULL OR f.block_time > d.lo)
            WHERE f.value > 0
            """,
            params,
        )
        cur.execute("UPDATE _scr_read SET t = d.hi FROM _scr_delta d WHERE d.seen AND d.address = _scr_read.address")
        cur.execute("INSERT INTO _scr_read SELECT address, hi FROM _scr_delta WHERE NOT seen")
