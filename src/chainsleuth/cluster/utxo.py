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

from chainsleuth.cluster.linkgraph import cluster_and_store, read_links
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
            SELECT * FROM (
                WITH wide AS (  -- only transactions with that many outputs can have that many equal ones
                    SELECT tx_hash FROM utxo_outputs WHERE chain = $chain
                    GROUP BY tx_hash HAVING count(*) >= $min_equal
                ),
                b AS (
                    SELECT tx_hash, arg_max(value, n) AS denom, max(n) AS m
                    FROM (SELECT tx_hash, value, count(*) AS n FROM utxo_outputs SEMI JOIN wide USING (tx_hash)
                          WHERE chain = $chain GROUP BY tx_hash, value)
                    GROUP BY tx_hash HAVING max(n) >= $min_equal
                )
                SELECT b.tx_hash, 'coinjoin:equal-outputs' AS reason, k.n_in AS inputs, b.m AS equal_outputs,
                       b.denom AS denomination
                FROM b JOIN (SELECT tx_hash, count(*) AS n_in FROM utxo_inputs SEMI JOIN b USING (tx_hash)
                             WHERE chain = $chain GROUP BY tx_hash) k USING (tx_hash)
                WHERE k.n_in >= 2
            )
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


def _decimals(v: str) -> str:
    """Significant decimals (of 8) of a positive base-unit amount, in integer arithmetic."""
    return "CASE " + " ".join(f"WHEN {v} % {10 ** (8 - d)} = 0 THEN {d}" for d in range(8)) + " ELSE 8 END"


def _change_sql(signals: tuple[str, ...]) -> str:
    """One row (tx_hash, address) per inferred change output.

    Set-based and ordered so that the big inputs are read once each: the one-time addresses come with their
    only output from the aggregation that counts them (no join back), and everything else is computed only
    for the transactions that keep exactly one fresh output.
    """
    unknown = set(signals) - set(CHANGE_SIGNALS)
    if unknown or not signals:
        raise ValueError(f"change signals must be a non-empty subset of {CHANGE_SIGNALS}, got {signals}")
    by_type = "script_type" in signals
    conds = []
    if by_type:
        conds.append("(o.script_type IS NOT NULL AND s.in_types = 1 AND s.in_type = o.script_type "
                     "AND o.others_same_type = 0)")
    if "round" in signals:
        conds.append(f"(o.others_round = o.others AND o.value % {ROUND_UNIT} <> 0)")
    if "decimals" in signals:
        conds.append(f"({_decimals('o.value')} >= o.max_other_decimals + 2)")
    other = "x.value > 0 AND x.output_index <> c.output_index"
    # The script-type signal needs the candidate's and the inputs' script types; the others do not.
    once_type = c_type = o_type = s_cte = s_join = ""
    if by_type:
        once_type, c_type = ", any_value(script_type) AS script_type", ", any_value(script_type) AS script_type"
        o_type = (", any_value(c.script_type) AS script_type, count(*) FILTER (WHERE "
                  f"{other} AND x.script_type IS NOT DISTINCT FROM c.script_type) AS others_same_type")
        s_cte = """,
    s AS (
        SELECT i.tx_hash, count(DISTINCT p.script_type) AS in_types, any_value(p.script_type) AS in_type
        FROM utxo_inputs i
        JOIN utxo_outputs p ON p.chain = i.chain AND p.tx_hash = i.spent_tx_hash
                            AND p.output_index = i.spent_output_index
        WHERE i.chain = $chain AND i.tx_hash IN (SELECT tx_hash FROM c)
        GROUP BY i.tx_hash
    )"""
        s_join = "LEFT JOIN s USING (tx_hash)"
    return f"""
    WITH once AS (  -- outputs paying an address that receives exactly once (a one-time address)
        SELECT any_value(tx_hash) AS tx_hash, any_value(output_index) AS output_index, address{once_type}
        FROM utxo_outputs WHERE chain = $chain AND address IS NOT NULL
        GROUP BY address HAVING count(*) = 1 AND any_value(value) > 0
    ),
    fresh AS (  -- ... that is not one of the transaction's input addresses
        SELECT x.* FROM once x
        ANTI JOIN (SELECT tx_hash, address FROM utxo_inputs WHERE chain = $chain AND address IS NOT NULL) i
          ON i.tx_hash = x.tx_hash AND i.address = x.address
    ),
    c AS (  -- transactions with exactly one fresh output, not excluded
        SELECT tx_hash, any_value(output_index) AS output_index{c_type}
        FROM fresh ANTI JOIN _cs_excluded USING (tx_hash)
        GROUP BY tx_hash HAVING count(*) = 1
    ),
    o AS (  -- every output of those transactions: the candidate's amount, the other positive outputs' signals
        SELECT x.tx_hash, count(*) AS n_out, count(x.address) AS n_addressed,
               any_value(x.address) FILTER (WHERE x.output_index = c.output_index) AS address,
               any_value(x.value) FILTER (WHERE x.output_index = c.output_index) AS value,
               count(*) FILTER (WHERE {other}) AS others,
               count(*) FILTER (WHERE {other} AND x.value % {ROUND_UNIT} = 0) AS others_round,
               max({_decimals("x.value")}) FILTER (WHERE {other}) AS max_other_decimals{o_type}
        FROM utxo_outputs x JOIN c USING (tx_hash) WHERE x.chain = $chain
        GROUP BY x.tx_hash
    ){s_cte}
    SELECT c.tx_hash, o.address
    FROM c JOIN o USING (tx_hash) {s_join}
    SEMI JOIN (SELECT tx_hash FROM utxo_inputs WHERE chain = $chain AND address IS NOT NULL) i
      ON i.tx_hash = c.tx_hash
    WHERE o.n_out >= 2 AND o.n_out = o.n_addressed AND o.others >= 1
      AND ({" OR ".join(conds)})
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
    # Links (tx_hash, address, link id): the row id, negated for change links. Multi-input: every input.
    # Change: the change output, and (when multi-input is off) the transaction's first input, so the change
    # joins its spender only. Excluded transactions are dropped after grouping per transaction.
    if h.multi_input:
        spends = "SELECT tx_hash, address, rowid AS link FROM utxo_inputs WHERE chain = $chain AND address IS NOT NULL"
    else:
        spends = """
            SELECT tx_hash, arg_min(address, input_index) AS address, arg_min(rowid, input_index) AS link
            FROM utxo_inputs
            WHERE chain = $chain AND address IS NOT NULL AND tx_hash IN (SELECT tx_hash FROM _cs_change)
            GROUP BY tx_hash
        """
    links = spends + (" UNION ALL SELECT tx_hash, address, -1 - rowid FROM _cs_change" if h.change else "")
    has_exclusions = con.execute("SELECT count(*) FROM _cs_excluded").fetchall()[0][0] > 0
    graph = read_links(con, links, {"chain": chain}, "_cs_excluded" if has_exclusions else None)
    result = cluster_and_store(con, chain, graph, h.names())
    del graph
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

