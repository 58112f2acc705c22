"""Address clustering on UTXO chains: multi-input and change heuristics with CoinJoin exclusion.

* **Multi-input** (common-input-ownership; Nakamoto 2008 §10; Reid & Harrigan 2011; Meiklejohn et al. 2013,
  "A Fistful of Bitcoins: Characterizing Payments Among Men with No Names", IMC): the inputs of one
  transaction are signed by one owner.
* **Change** (Meiklejohn et al. 2013 one-time change address; Androulaki et al. 2013; made conservative as in
  Ermilov, Panov & Yanovich 2017, "Automatic Bitcoin address clustering"): in a transaction with two or more
  outputs, exactly one output pays an address that never received before nor after (one-time) and is not an
  input address. That alone is weak, so at least one more signal is required: the output has the inputs'
  script type while the others do not; the other outputs are round amounts (multiples of 0.001 BTC) and it is
  not; or it has at least two more significant decimals than every other output.
* **Exclusions** (transactions whose inputs are *not* one owner's): CoinJoins recognised by many equal
  outputs (at least ``min_equal_outputs`` outputs of one value and two or more inputs: Wasabi, Whirlpool,
  JoinMarket; an exchange's batch payout of equal amounts is excluded too, which costs recall, not
  precision; Möser & Böhme 2017, "Anonymous alone? Measuring Bitcoin's second-generation anonymization
  techniques"), transactions spending an address tagged ``coinjoin``, transactions listed as CoinJoins by the
  caller, transactions that spend a CoinJoin's output (post-mix spends: PayJoin/Stowaway and Stonewall are
  built from such coins precisely to break common-input-ownership), and transactions whose inputs carry tags
  of two different entities.

Everything up to the graph is DuckDB SQL; the graph is numpy arrays and ``scipy.sparse.csgraph``; results go
back through Arrow. A run replaces the chain's rows in ``clusters`` in one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa

from chainsleuth.cluster.components import bipartite_components
from chainsleuth.labels.taxonomy import PROPAGATING_CATEGORIES
from chainsleuth.store import transaction

CHANGE_SIGNALS = ("script_type", "round", "decimals")
#: Signals used unless asked otherwise. The script-type signal is off by default: on the simulated world it
#: was right for only 89 % of links (payments to fresh exchange deposit addresses of the spender's own script
#: type look like change), against >= 99.8 % for the amount signals.
DEFAULT_CHANGE_SIGNALS = ("round", "decimals")

#: Values that count as round payments: multiples of 10^5 base units (0.001 BTC).
ROUND_UNIT = 100_000


@dataclass
class UtxoHeuristics:
    """Which heuristics a run uses (each switchable)."""

    multi_input: bool = True
    change: bool = True
    change_signals: tuple[str, ...] = DEFAULT_CHANGE_SIGNALS
    coinjoin_exclusion: bool = True
    min_equal_outputs: int = 3
    exclude_post_mix: bool = True
    exclude_entity_conflicts: bool = True
    coinjoin_txs: Iterable[str] = field(default_factory=tuple)

    def names(self) -> list[str]:
        out = []
        if self.multi_input:
            out.append("multi-input")
        if self.change:
            out.append("change(" + "+".join(self.change_signals) + ")")
        if self.coinjoin_exclusion:
            out.append(f"coinjoin-exclusion(>={self.min_equal_outputs} equal outputs)")
        if self.exclude_post_mix:
            out.append("post-mix-exclusion")
        if self.exclude_entity_conflicts:
            out.append("entity-conflict-exclusion")
        return out


def _exclusions_sql(h: UtxoHeuristics) -> list[str]:
    parts = []
    if h.coinjoin_exclusion:
        parts.append(
            """
            SELECT b.tx_hash, 'coinjoin:equal-outputs' AS reason, k.n_in AS inputs, b.m AS equal_outputs,
                   b.denom AS denomination
            FROM (SELECT tx_hash, arg_max(value, n) AS denom, max(n) AS m
                  FROM (SELECT tx_hash, value, count(*) AS n FROM utxo_outputs WHERE chain = $chain
                        GROUP BY tx_hash, value)
                  GROUP BY tx_hash HAVING max(n) >= $min_equal) b
            JOIN (SELECT tx_hash, count(*) AS n_in FROM utxo_inputs WHERE chain = $chain GROUP BY tx_hash) k
              USING (tx_hash)
            WHERE k.n_in >= 2
            """
        )
        parts.append(
            """
            SELECT i.tx_hash, 'coinjoin:tagged-input', count(*), NULL, NULL
            FROM utxo_inputs i
            SEMI JOIN (SELECT address FROM tags WHERE category = 'coinjoin' AND (chain = $chain OR chain IS NULL)) t
              ON t.address = i.address
            WHERE i.chain = $chain GROUP BY i.tx_hash
            """
        )
        parts.append(
            "SELECT tx_hash, 'coinjoin:listed', NULL, NULL, NULL FROM _cs_listed"
        )
    if h.exclude_entity_conflicts:
        cats = ", ".join(f"'{c}'" for c in sorted(PROPAGATING_CATEGORIES))
        parts.append(
            f"""
            SELECT i.tx_hash, 'entity-conflict', count(*), NULL, NULL
            FROM utxo_inputs i
            JOIN (SELECT DISTINCT address, coalesce(actor, label) AS entity FROM tags
                  WHERE category IN ({cats}) AND (chain = $chain OR chain IS NULL)) t ON t.address = i.address
            WHERE i.chain = $chain GROUP BY i.tx_hash HAVING count(DISTINCT t.entity) >= 2
            """
        )
    return parts


def _build_exclusions(con: duckdb.DuckDBPyConnection, chain: str, h: UtxoHeuristics) -> None:
    listed = sorted(set(h.coinjoin_txs))
    con.execute("CREATE OR REPLACE TEMP TABLE _cs_listed (tx_hash VARCHAR)")
    if listed:
        con.executemany("INSERT INTO _cs_listed VALUES (?)", [[t] for t in listed])
    parts = _exclusions_sql(h)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _cs_excluded (tx_hash VARCHAR, reason VARCHAR, inputs INTEGER, "
        "equal_outputs INTEGER, denomination BIGINT)"
    )
    if parts:
        con.execute(
            "INSERT INTO _cs_excluded SELECT * FROM (" + " UNION ALL ".join(parts) + ")",
            {"chain": chain, "min_equal": h.min_equal_outputs} if h.coinjoin_exclusion else {"chain": chain},
        )
    if h.exclude_post_mix and h.coinjoin_exclusion:
        con.execute(
            """
            INSERT INTO _cs_excluded
            SELECT i.tx_hash, 'post-mix-spend', count(*), NULL, NULL
            FROM utxo_inputs i
            WHERE i.chain = $chain
              AND i.tx_hash IN (SELECT tx_hash FROM utxo_inputs WHERE chain = $chain
                                AND spent_tx_hash IN (SELECT tx_hash FROM _cs_excluded WHERE reason LIKE 'coinjoin:%'))
            GROUP BY i.tx_hash HAVING count(*) >= 2
            """,
            {"chain": chain},
        )


def _change_sql(signals: tuple[str, ...]) -> str:
    unknown = set(signals) - set(CHANGE_SIGNALS)
    if unknown or not signals:
        raise ValueError(f"change signals must be a non-empty subset of {CHANGE_SIGNALS}, got {signals}")
    conds = []
    if "script_type" in signals:
        conds.append("(c.script_type IS NOT NULL AND s.in_types = 1 AND s.in_type = c.script_type "
                     "AND o.others_same_type = 0)")
    if "round" in signals:
        conds.append(f"(o.others_round = o.others AND c.value % {ROUND_UNIT} <> 0)")
    if "decimals" in signals:
        conds.append("(c.decimals >= o.max_other_decimals + 2)")
    return f"""
    WITH outs AS (
        SELECT o.tx_hash, o.output_index, o.address, o.script_type, o.value,
               8 - least(8, length(o.value::VARCHAR) - length(rtrim(o.value::VARCHAR, '0'))) AS decimals
        FROM utxo_outputs o
        WHERE o.chain = $chain AND o.value > 0
          AND o.tx_hash NOT IN (SELECT tx_hash FROM _cs_excluded)
    ),
    txo AS (  -- transactions with >= 2 outputs, every one with an address
        SELECT tx_hash FROM utxo_outputs WHERE chain = $chain GROUP BY tx_hash
        HAVING count(*) >= 2 AND count(*) = count(address)
    ),
    once AS (SELECT address FROM utxo_outputs WHERE chain = $chain AND address IS NOT NULL
             GROUP BY address HAVING count(*) = 1),
    fresh AS (
        SELECT x.* FROM outs x
        SEMI JOIN txo USING (tx_hash)
        SEMI JOIN once USING (address)
        ANTI JOIN (SELECT tx_hash, address FROM utxo_inputs WHERE chain = $chain) i
          ON i.tx_hash = x.tx_hash AND i.address = x.address
    ),
    cand AS (SELECT tx_hash, any_value(output_index) AS output_index FROM fresh GROUP BY tx_hash
             HAVING count(*) = 1),
    c AS (SELECT f.* FROM fresh f JOIN cand USING (tx_hash, output_index)),
    o AS (
        SELECT x.tx_hash, count(*) AS others,
               count(*) FILTER (WHERE x.value % {ROUND_UNIT} = 0) AS others_round,
               max(x.decimals) AS max_other_decimals,
               count(*) FILTER (WHERE x.script_type IS NOT DISTINCT FROM c.script_type) AS others_same_type
        FROM outs x JOIN c ON c.tx_hash = x.tx_hash AND x.output_index <> c.output_index
        GROUP BY x.tx_hash
    ),
    s AS (
        SELECT i.tx_hash, count(DISTINCT p.script_type) AS in_types, any_value(p.script_type) AS in_type,
               count(*) FILTER (WHERE p.script_type IS NULL) AS unknown_types
        FROM utxo_inputs i
        JOIN utxo_outputs p ON p.chain = i.chain AND p.tx_hash = i.spent_tx_hash
                            AND p.output_index = i.spent_output_index
        WHERE i.chain = $chain AND i.tx_hash IN (SELECT tx_hash FROM c)
        GROUP BY i.tx_hash
    )
    SELECT c.tx_hash, c.address
    FROM c JOIN o USING (tx_hash) LEFT JOIN s USING (tx_hash)
    WHERE EXISTS (SELECT 1 FROM utxo_inputs i WHERE i.chain = $chain AND i.tx_hash = c.tx_hash
                  AND i.address IS NOT NULL)
      AND ({' OR '.join(conds)})
    """


def cluster_utxo(
    con: duckdb.DuckDBPyConnection, chain: str, heuristics: UtxoHeuristics | None = None
) -> dict:
    """Cluster the addresses of UTXO chain ``chain`` and store the result in ``clusters``.

    Returns {chain, heuristics, addresses, clusters, largest, links, change_links, excluded{reason: n},
    seconds}. ``addresses``/``clusters`` count the stored (non-singleton) clusters.
    """
    h = heuristics or UtxoHeuristics()
    t0 = time.perf_counter()
    _build_exclusions(con, chain, h)
    con.execute("CREATE OR REPLACE TEMP TABLE _cs_change (tx_hash VARCHAR, address VARCHAR)")
    if h.change:
        con.execute("INSERT INTO _cs_change " + _change_sql(tuple(h.change_signals)), {"chain": chain})
    # Links: (tx, address) pairs. Multi-input: every input of a kept transaction. Change: the change output,
    # and (when multi-input is off) the transaction's first input, so the change joins its spender only.
    if h.multi_input:
        links_sql = """
            SELECT i.tx_hash, i.address, 0 AS kind FROM utxo_inputs i
            ANTI JOIN _cs_excluded e ON e.tx_hash = i.tx_hash
            WHERE i.chain = $chain AND i.address IS NOT NULL
        """
    else:
        links_sql = """
            SELECT tx_hash, arg_min(address, input_index) AS address, 0 AS kind FROM utxo_inputs
            WHERE chain = $chain AND address IS NOT NULL AND tx_hash IN (SELECT tx_hash FROM _cs_change)
            GROUP BY tx_hash
        """
    links = links_sql + (" UNION ALL SELECT tx_hash, address, 1 AS kind FROM _cs_change" if h.change else "")
    result = _components_and_store(con, chain, links, h.names())
    excluded = dict(con.execute("SELECT reason, count(DISTINCT tx_hash) FROM _cs_excluded GROUP BY 1").fetchall())
    n_change = con.execute("SELECT count(*) FROM _cs_change").fetchall()[0][0]
    with transaction(con):
        con.execute("DELETE FROM cluster_exclusions WHERE chain = ?", [chain])
        con.execute(
            "INSERT INTO cluster_exclusions SELECT $chain, tx_hash, string_agg(DISTINCT reason, ','), max(inputs), "
            "max(equal_outputs), max(denomination) FROM _cs_excluded GROUP BY tx_hash",
            {"chain": chain},
        )
    seconds = time.perf_counter() - t0
    con.execute(
        "UPDATE cluster_runs SET seconds = ?, excluded_txs = ? WHERE chain = ? AND run_at = "
        "(SELECT max(run_at) FROM cluster_runs WHERE chain = ?)",
        [seconds, sum(excluded.values()), chain, chain],
    )
    for name in ("_cs_change", "_cs_excluded", "_cs_listed"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    return {**result, "change_links": n_change, "excluded": excluded, "seconds": round(seconds, 3)}


def _components_and_store(con: duckdb.DuckDBPyConnection, chain: str, links: str, heuristics: list[str]) -> dict:
    """Number addresses (DuckDB), group links per transaction, find components (scipy), store non-singletons.

    ``links`` is a query or table of (tx_hash, address, kind) with kind 0 = spending input, 1 = inferred
    change. Address and transaction strings never enter Python: numbers go to numpy, strings are gathered
    with Arrow ``take`` for the clustered addresses only.
    """
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _cs_addr AS SELECT address, (row_number() OVER () - 1)::INTEGER AS aid "
        f"FROM (SELECT DISTINCT address FROM ({links}))",
        {"chain": chain},
    )
    per_tx = con.sql(
        f"SELECT l.tx_hash, list(CASE WHEN l.kind = 1 THEN -1 - a.aid ELSE a.aid END) AS aids "
        f"FROM ({links}) l JOIN _cs_addr a USING (address) GROUP BY l.tx_hash",
        params={"chain": chain},
    ).to_arrow_table()
    addresses = con.sql("SELECT address FROM _cs_addr ORDER BY aid").to_arrow_table().column(0)
    con.execute("DROP TABLE _cs_addr")
    n_addr, n_tx = len(addresses), per_tx.num_rows
    aids = per_tx.column("aids").combine_chunks() if n_tx else pa.array([], pa.list_(pa.int32()))
    offsets = np.asarray(aids.offsets)
    coded = np.asarray(aids.values, dtype=np.int64)  # change links are coded as -1 - aid
    kind = (coded < 0).astype(np.int8)
    aid = np.where(coded < 0, -1 - coded, coded)
    tid = np.repeat(np.arange(n_tx, dtype=np.int64), np.diff(offsets))
    labels = bipartite_components(n_addr, n_tx, aid, tid)
    sizes = np.bincount(labels, minlength=1) if n_addr else np.zeros(0, dtype=np.int64)
    # Evidence: a transaction linking the address to another one. Prefer a co-spend with >= 2 distinct
    # addresses ('multi-input'), else a transaction with an inferred change output ('change').
    big = np.iinfo(np.int64).max
    tx_min = np.full(n_tx, big, dtype=np.int64)
    tx_max = np.full(n_tx, -1, dtype=np.int64)
    spend = kind == 0
    np.minimum.at(tx_min, tid[spend], aid[spend])
    np.maximum.at(tx_max, tid[spend], aid[spend])
    tx_has_change = np.zeros(n_tx, dtype=bool)
    tx_has_change[tid[kind == 1]] = True
    ev = np.full(n_addr, -1, dtype=np.int64)
    heur = np.zeros(n_addr, dtype=np.int8)  # 1 multi-input, 2 change
    via_change = tx_has_change[tid]
    ev[aid[via_change]] = tid[via_change]
    heur[aid[via_change]] = 2
    multi = (tx_min[tid] != tx_max[tid]) & spend
    ev[aid[multi]] = tid[multi]
    heur[aid[multi]] = 1
    keep = np.nonzero(sizes[labels] >= 2)[0] if n_addr else np.zeros(0, dtype=np.int64)
    ev_keep = ev[keep]
    tx_hashes = per_tx.column("tx_hash").combine_chunks() if n_tx else pa.array([], pa.string())
    out = pa.table(
        {
            "address": addresses.take(pa.array(keep)),
            "cluster_id": pa.array(labels[keep]),
            "heuristic": pa.DictionaryArray.from_arrays(
                pa.array(heur[keep]), pa.array(["root", "multi-input", "change"])
            ).cast(pa.string()),
            "evidence_tx": tx_hashes.take(pa.array(np.where(ev_keep >= 0, ev_keep, 0), mask=ev_keep < 0))
            if n_tx else pa.nulls(len(keep), pa.string()),
        }
    )
    n_clusters = int(np.count_nonzero(sizes >= 2))
    con.register("_cs_out", out)
    try:
        with transaction(con):
            con.execute("DELETE FROM clusters WHERE chain = ?", [chain])
            con.execute(
                "INSERT INTO clusters (chain, address, cluster_id, heuristic, evidence_tx) "
                "SELECT $chain, address, cluster_id, heuristic, evidence_tx FROM _cs_out",
                {"chain": chain},
            )
            con.execute(
                "INSERT INTO cluster_runs (chain, heuristics, addresses, clusters, links, excluded_txs) "
                "VALUES (?, ?, ?, ?, ?, 0)",
                [chain, ", ".join(heuristics), len(keep), n_clusters, len(aid)],
            )
    finally:
        con.unregister("_cs_out")
    return {
        "chain": chain,
        "heuristics": heuristics,
        "addresses": int(len(keep)),
        "clusters": n_clusters,
        "largest": int(sizes.max()) if n_addr else 0,
        "links": int(len(aid)),
    }
