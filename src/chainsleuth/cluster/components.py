"""Connected components of the address-linking graph, vectorised with ``scipy.sparse.csgraph``.

Clustering heuristics emit links; the clusters are the connected components of the graph they form. UTXO
links are (address, transaction) pairs: each transaction is replaced by one of its addresses, its
representative, so a transaction with k inputs costs k edges instead of k^2, and the per-address lists of
links that DuckDB aggregates are already the graph's CSR adjacency (no sort, no COO). Components are found by ``scipy.sparse.csgraph.connected_components``
(breadth-first search, linear time; Tarjan 1972 "Depth-first search and linear graph algorithms"), the same
partition a union-find over the links gives (GraphSense's Rust clustering uses union-find).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from chainsleuth.store import transaction


def linked_components(offsets: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Component label of each address of a graph given as CSR adjacency: address ``i`` is linked to
    addresses ``targets[offsets[i]:offsets[i + 1]]`` (self-links allowed).

    Labels are dense (0..k-1) and numbered in order of each component's smallest address, so they are
    deterministic for a given numbering of the addresses.
    """
    n = len(offsets) - 1
    if len(targets) == 0:
        return np.arange(n, dtype=np.int64)
    if n >= np.iinfo(np.int32).max or len(targets) >= np.iinfo(np.int32).max:
        raise ValueError("graph too large for 32-bit sparse indices")
    # float64 weights and weak connectivity of the directed graph (the same components as undirected): scipy
    # converts any other dtype to float64 first, and the undirected variant symmetrises; about 25 % faster.
    graph = csr_matrix(
        (np.ones(len(targets)), targets.astype(np.int32, copy=False), offsets.astype(np.int32)), shape=(n, n)
    )
    _k, labels = connected_components(graph, directed=True, connection="weak", return_labels=True)
    return labels.astype(np.int64)


def component_sizes(labels: np.ndarray) -> np.ndarray:
    """Size of each address's component (same shape as ``labels``)."""
    return np.bincount(labels)[labels]


def address_components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label of each of ``n`` address nodes linked by edges ``a[i] -- b[i]`` (labels numbered in
    order of each component's smallest node)."""
    if len(a) == 0:
        return np.arange(n, dtype=np.int64)
    graph = coo_matrix(
        (np.ones(len(a), dtype=np.int8), (a.astype(np.int32), b.astype(np.int32))), shape=(n, n)
    ).tocsr()
    _k, labels = connected_components(graph, directed=False, return_labels=True)
    return labels.astype(np.int64)


def store_edge_components(
    con: duckdb.DuckDBPyConnection, chain: str, edges_sql: str | None, params: dict, heuristics: list[str]
) -> dict:
    """Cluster addresses linked by ``edges_sql`` (columns a, b, evidence tx, heuristic) and replace the
    chain's rows in ``clusters`` with the non-singleton clusters (one transaction). Each address keeps the
    heuristic and evidence transaction of one of its links."""
    con.execute("CREATE OR REPLACE TEMP TABLE _ce_edges (a VARCHAR, b VARCHAR, tx VARCHAR, heuristic VARCHAR)")
    if edges_sql:
        used = {k: v for k, v in params.items() if f"${k}" in edges_sql}
        con.execute(f"INSERT INTO _ce_edges {edges_sql}", used)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ce_addr AS SELECT address, (row_number() OVER () - 1)::INTEGER AS aid "
        "FROM (SELECT a AS address FROM _ce_edges UNION SELECT b FROM _ce_edges)"
    )
    arr = con.sql(
        "SELECT x.aid AS a, y.aid AS b, row_number() OVER () - 1 AS e FROM _ce_edges "
        "JOIN _ce_addr x ON x.address = _ce_edges.a JOIN _ce_addr y ON y.address = _ce_edges.b"
    ).fetchnumpy()
    n = con.execute("SELECT count(*) FROM _ce_addr").fetchall()[0][0]
    a = np.asarray(arr["a"], dtype=np.int64)
    b = np.asarray(arr["b"], dtype=np.int64)
    labels = address_components(n, a, b)
    sizes = np.bincount(labels, minlength=1) if n else np.zeros(0, dtype=np.int64)
    keep = sizes[labels] >= 2 if n else np.zeros(0, dtype=bool)
    out = pa.table({"aid": pa.array(np.arange(n, dtype=np.int32)[keep]), "cluster_id": pa.array(labels[keep])})
    con.register("_ce_out", out)
    try:
        with transaction(con):
            con.execute("DELETE FROM clusters WHERE chain = ?", [chain])
            con.execute(
                """
                INSERT INTO clusters (chain, address, cluster_id, heuristic, evidence_tx)
                SELECT $chain, ad.address, o.cluster_id, arg_min(e.heuristic, e.tx), min(e.tx)
                FROM _ce_out o JOIN _ce_addr ad USING (aid)
                JOIN (SELECT a AS address, tx, heuristic FROM _ce_edges
                      UNION ALL SELECT b, tx, heuristic FROM _ce_edges) e ON e.address = ad.address
                GROUP BY ALL  -- (an OR join condition, a = address OR b = address, is a nested loop)
                """,
                {"chain": chain},
            )
            n_clusters = int(np.count_nonzero(sizes >= 2))
            con.execute(
                "INSERT INTO cluster_runs (chain, heuristics, addresses, clusters, links, excluded_txs) "
                "VALUES (?, ?, ?, ?, ?, 0)",
                [chain, ", ".join(heuristics), int(keep.sum()), n_clusters, len(a)],
            )
        by_h = dict(con.execute("SELECT heuristic, count(*) FROM _ce_edges GROUP BY 1").fetchall())
    finally:
        con.unregister("_ce_out")
        for t in ("_ce_edges", "_ce_addr"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    return {
        "chain": chain,
        "heuristics": heuristics,
        "addresses": int(keep.sum()),
        "clusters": n_clusters,
        "largest": int(sizes.max()) if n else 0,
        "links": int(len(a)),
        "links_by_heuristic": by_h,
    }
