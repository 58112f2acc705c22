"""Multi-input clustering throughput: chainsleuth vs GraphSense's Rust ``gs_clustering`` vs NetworkX.

Builds a DuckDB store with ``--inputs`` Bitcoin transaction inputs (default 10 million; 1-4 inputs per
transaction, owners with 1-50 addresses, two outputs per transaction), then times, from reading the store
to cluster ids stored in DuckDB:

* chainsleuth ``cluster_utxo`` with multi-input only (the same work as GraphSense's bootstrap clustering);
* ``gs_clustering`` (union-find in Rust) fed from the same store: DuckDB numbers the addresses, groups the
  inputs per transaction into an Arrow ListArray, Rust clusters, the mapping is joined back and stored;
* NetworkX ``connected_components`` on the same links (on the first ``--nx-inputs`` inputs only: the
  pure-Python graph of 10 million links does not fit the machine's memory and time);
* chainsleuth's full run (multi-input + change + CoinJoin/post-mix/conflict exclusions) for reference.

Both partitions (ours and gs_clustering) are checked equal. Goal: ours <= 10 s and no slower than
gs_clustering. Writes ``benchmarks/results/cluster.json``.

Each pipeline runs ``--repeat`` times, alternating with the other; the best run of each is compared.

    python benchmarks/cluster.py [--inputs 10000000] [--nx-inputs 1000000] [--keep FILE] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from chainsleuth import store
from chainsleuth.cluster import UtxoHeuristics, cluster_utxo
from chainsleuth.store.ledger import ensure_chain

RESULTS = Path(__file__).resolve().parent / "results"
CHAIN = "bitcoin"


def make_world(con, n_inputs: int, seed: int = 7) -> dict:
    """Synthetic ledger with about ``n_inputs`` inputs (set-based SQL, not timed)."""
    ensure_chain(con, CHAIN)
    n_tx = max(1, int(n_inputs / 2.5))
    n_owners = max(1, n_tx // 2)
    con.execute(f"SELECT setseed({(seed % 1000) / 1000})")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE gen AS
        WITH t AS (
            SELECT range AS tx, 1 + (hash(range, {seed}) % 4)::INTEGER AS nin,
                   hash(range, {seed + 1}) % {n_owners} AS owner
            FROM range({n_tx})
        )
        SELECT tx, unnest(range(nin)) AS idx, owner FROM t
        """
    )
    con.execute(
        f"""
        INSERT INTO utxo_inputs
        SELECT '{CHAIN}', md5(tx::VARCHAR) || md5((tx + 1)::VARCHAR), idx, tx // 2000,
               TIMESTAMP '2020-01-01' + to_seconds(tx // 2000 * 600),
               md5('f' || tx::VARCHAR || ':' || idx::VARCHAR) || md5(idx::VARCHAR), 0,
               'bc1q' || substr(md5(owner::VARCHAR || ':' || (hash(tx, idx) % (1 + owner % 50))::VARCHAR), 1, 38),
               (1000 + hash(tx, idx, 3) % 100000000)::BIGINT
        FROM gen
        """
    )
    con.execute(
        f"""
        INSERT INTO utxo_outputs
        SELECT '{CHAIN}', md5(tx::VARCHAR) || md5((tx + 1)::VARCHAR), o, tx // 2000,
               TIMESTAMP '2020-01-01' + to_seconds(tx // 2000 * 600),
               'bc1q' || substr(md5(CASE o WHEN 0 THEN (hash(tx, 9) % {n_owners})::VARCHAR ELSE owner::VARCHAR END
                                    || ':' || (hash(tx, o, 5) % 50)::VARCHAR), 1, 38),
               'witness_v0_keyhash', NULL, (1000 + hash(tx, o, 4) % 100000000)::BIGINT
        FROM (SELECT DISTINCT tx, owner FROM gen), range(2) r(o)
        """
    )
    con.execute("DROP TABLE gen")
    con.execute("CHECKPOINT")
    return {
        "inputs": con.execute("SELECT count(*) FROM utxo_inputs").fetchall()[0][0],
        "outputs": con.execute("SELECT count(*) FROM utxo_outputs").fetchall()[0][0],
        "transactions": n_tx,
    }


MULTI_INPUT_ONLY = UtxoHeuristics(
    change=False, coinjoin_exclusion=False, exclude_post_mix=False, exclude_entity_conflicts=False
)


def run_ours(con) -> tuple[float, dict]:
    t = time.perf_counter()
    r = cluster_utxo(con, CHAIN, MULTI_INPUT_ONLY)
    return time.perf_counter() - t, r


def run_gs(con) -> tuple[float, int]:
    """gs_clustering from the store to stored cluster ids (table gs_clusters)."""
    import gs_clustering

    t = time.perf_counter()
    con.execute(
        "CREATE OR REPLACE TEMP TABLE gs_addr AS SELECT address, (row_number() OVER ())::UINTEGER AS aid "
        "FROM (SELECT DISTINCT address FROM utxo_inputs WHERE chain = ? AND address IS NOT NULL)",
        [CHAIN],
    )
    max_id = con.execute("SELECT count(*) FROM gs_addr").fetchall()[0][0]
    lists = con.sql(
        f"SELECT list(a.aid) AS ids FROM utxo_inputs i JOIN gs_addr a USING (address) "
        f"WHERE i.chain = '{CHAIN}' GROUP BY i.tx_hash"
    ).to_arrow_table()
    arr = lists.column("ids").combine_chunks()
    c = gs_clustering.Clustering(max_id)
    c.process_transactions_arrow(arr)
    mapping = pa.Table.from_batches([c.get_mapping_min(True)])
    con.register("gs_map", mapping)
    con.execute(
        "CREATE OR REPLACE TABLE gs_clusters AS SELECT a.address, m.cluster_id FROM gs_map m "
        "JOIN gs_addr a ON a.aid = m.address_id"
    )
    con.unregister("gs_map")
    elapsed = time.perf_counter() - t
    return elapsed, con.execute("SELECT count(*) FROM gs_clusters").fetchall()[0][0]


def run_networkx(con, n_inputs: int) -> tuple[float, int, int]:
    import networkx as nx

    t = time.perf_counter()
    rows = con.execute(
        "SELECT tx_hash, address FROM utxo_inputs WHERE chain = ? AND address IS NOT NULL LIMIT ?",
        [CHAIN, n_inputs],
    ).fetchall()
    g = nx.Graph()
    g.add_edges_from((("a", a), ("t", tx)) for tx, a in rows)
    n = sum(1 for comp in nx.connected_components(g) if sum(1 for k, _ in comp if k == "a") >= 2)
    return time.perf_counter() - t, len(rows), n


def same_partition(con) -> bool:
    """Ours equals gs_clustering's: every pair of cluster ids maps one-to-one."""
    bad = con.execute(
        """
        WITH j AS (SELECT o.cluster_id AS a, g.cluster_id AS b FROM clusters o
                   FULL JOIN gs_clusters g USING (address) WHERE o.chain = 'bitcoin' OR o.chain IS NULL)
        SELECT (SELECT count(*) FROM j WHERE a IS NULL OR b IS NULL)
             + (SELECT count(*) FROM (SELECT a FROM j GROUP BY a HAVING count(DISTINCT b) > 1))
             + (SELECT count(*) FROM (SELECT b FROM j GROUP BY b HAVING count(DISTINCT a) > 1))
        """
    ).fetchall()[0][0]
    return bad == 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=10_000_000)
    ap.add_argument("--nx-inputs", type=int, default=1_000_000)
    ap.add_argument("--keep", help="keep the generated database at this path")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each pipeline, alternated (best reported)")
    args = ap.parse_args()
    path = args.keep or os.path.join(tempfile.mkdtemp(prefix="cs-cluster-bench-"), "bench.duckdb")
    con = store.connect(path)
    t = time.perf_counter()
    world = make_world(con, args.inputs) if not con.execute("SELECT count(*) FROM utxo_inputs").fetchall()[0][0] \
        else {"inputs": con.execute("SELECT count(*) FROM utxo_inputs").fetchall()[0][0]}
    print(f"world: {world} (built in {time.perf_counter() - t:.1f} s)")
    ours_runs, gs_runs = [], []
    for _ in range(args.repeat):  # alternated, so neither side gets the other's warm caches more often
        ours_s, ours = run_ours(con)
        gs_s, gs_rows = run_gs(con)
        ours_runs.append(round(ours_s, 3))
        gs_runs.append(round(gs_s, 3))
    ours_s, gs_s = min(ours_runs), min(gs_runs)
    print(f"runs (s): chainsleuth {ours_runs}, gs_clustering {gs_runs}; best of each below; load average "
          f"{os.getloadavg()[0]:.1f}")
    equal = same_partition(con)
    nx_s, nx_inputs, nx_clusters = run_networkx(con, args.nx_inputs)
    full_t = time.perf_counter()
    full = cluster_utxo(con, CHAIN)
    full_s = time.perf_counter() - full_t
    n = world["inputs"]
    rows = [
        ("chainsleuth multi-input (DuckDB + scipy)", ours_s, n),
        ("gs_clustering (Rust union-find, same store)", gs_s, n),
        (f"NetworkX connected_components ({nx_inputs:,} inputs)", nx_s, nx_inputs),
        ("chainsleuth full (multi-input+change+exclusions)", full_s, n),
    ]
    print(f"\n{'pipeline':55s} {'inputs':>12s} {'seconds':>9s} {'inputs/s':>12s}")
    for name, s, k in rows:
        print(f"{name:55s} {k:12,d} {s:9.2f} {k / s:12,.0f}")
    print(f"\nstored clusters: ours {ours['addresses']:,} addresses in {ours['clusters']:,} clusters; "
          f"gs_clustering {gs_rows:,} addresses; partitions equal: {equal}")
    print(f"goal: <= 10 s and no slower than gs_clustering -> "
          f"{'met' if ours_s <= 10 and ours_s <= gs_s else 'NOT met'}")
    RESULTS.mkdir(exist_ok=True)
    out = {
        "benchmark": "cluster",
        "inputs": n,
        "cpus": os.cpu_count(),
        "ours_multi_input_s": round(ours_s, 3),
        "gs_clustering_s": round(gs_s, 3),
        "ours_runs_s": ours_runs,
        "gs_clustering_runs_s": gs_runs,
        "networkx_s": round(nx_s, 3),
        "networkx_inputs": nx_inputs,
        "ours_full_s": round(full_s, 3),
        "ours_full": {k: v for k, v in full.items() if k != "heuristics"},
        "clustered_addresses": ours["addresses"],
        "clusters": ours["clusters"],
        "partitions_equal": equal,
        "goal_met": bool(ours_s <= 10 and ours_s <= gs_s),
    }
    (RESULTS / "cluster.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
