"""From (transaction, address) links to stored clusters on UTXO chains, without strings in Python objects.

Two DuckDB hash aggregations over the links, one per transaction and one per address, each collecting the
links' row ids (``list(rowid)``), number transactions and addresses: a number is the row of the aggregate's
result. No join and no list of strings is built: numpy maps each row id to its transaction number, so the
per-address lists become the CSR adjacency of the address graph (each link joins its address to one
representative address of its transaction) that scipy labels. Hashes and addresses come back as Arrow
columns; the clustered rows go back with one ``INSERT ... FROM`` an Arrow table, which DuckDB scans in place.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import duckdb
import numpy as np
import pyarrow as pa

from chainsleuth.cluster.components import linked_components
from chainsleuth.store import transaction

HEURISTICS = ("root", "multi-input", "change")  # codes 0, 1, 2 of the stored heuristic
ONE_BATCH = 1 << 40  # Arrow batch size: one chunk per DuckDB thread


@dataclass
class LinkGraph:
    """Address ``i`` (``addresses[i]``) is linked to transactions ``tx[offsets[i]:offsets[i + 1]]``
    (``tx_hashes[t]``); ``change`` marks links that are inferred change outputs, the rest are spends."""

    addresses: pa.ChunkedArray
    tx_hashes: pa.ChunkedArray
    offsets: np.ndarray
    tx: np.ndarray
    change: np.ndarray

    @cached_property
    def address_of_link(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.offsets) - 1, dtype=np.int32), np.diff(self.offsets))


def _flat(lists: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, values) of a list column of integers, read chunk by chunk from the Arrow buffers into two
    arrays allocated once (``combine_chunks``, ``ListArray.offsets`` and ``np.asarray`` of the values each
    copy; at ten million links that was most of the time between DuckDB and scipy)."""
    chunks = [c for c in lists.chunks if len(c)]
    n_lists = sum(len(c) for c in chunks)
    bounds = []
    for chunk in chunks:
        width = np.int64 if pa.types.is_large_list(chunk.type) else np.int32
        o = np.frombuffer(chunk.buffers()[1], dtype=width, count=len(chunk) + 1, offset=chunk.offset * width().itemsize)
        child = chunk.values  # int64 link ids, never null
        v = np.frombuffer(child.buffers()[1], dtype=np.int64, count=len(child), offset=child.offset * 8)
        bounds.append((o, v[o[0]:o[-1]]))
    offsets = np.empty(n_lists + 1, dtype=np.int64)
    values = np.empty(sum(len(v) for _, v in bounds), dtype=np.int64)
    offsets[0] = at = base = 0
    for o, v in bounds:
        np.subtract(o[1:], int(o[0]) - base, out=offsets[at + 1:at + len(o)], dtype=np.int64)
        values[base:base + len(v)] = v
        at, base = at + len(o) - 1, base + len(v)
    return offsets, values


def _dense(*ids: np.ndarray) -> tuple[int, tuple[np.ndarray, ...]]:
    """(k, positions 0..k-1) for link ids (row ids: dense already up to an offset and the sign of change
    links), the same in every array; shifted in place, a sort only where the ids are sparse."""
    every = [a for a in ids if len(a)]
    if not every:
        return 0, ids
    lo, hi = min(int(a.min()) for a in every), max(int(a.max()) for a in every)
    if hi - lo < 4 * sum(len(a) for a in ids) + 1024:
        for a in every:
            a -= lo
        return hi - lo + 1, ids
    uniq = np.unique(np.concatenate(ids))
    return len(uniq), tuple(np.searchsorted(uniq, a) for a in ids)


def read_links(con: duckdb.DuckDBPyConnection, links: str, params: dict, excluded: str | None) -> LinkGraph:
    """Number the links of query ``links`` (tx_hash, address, link) per transaction and per address.

    ``link`` identifies the link (a row id), negative for change links; transactions listed in table
    ``excluded`` (tx_hash) link nothing.
    """
    skip = f" ANTI JOIN {excluded} x ON x.tx_hash = g.tx_hash" if excluded else ""
    with transaction(con):  # one snapshot, so both aggregations see the same row ids
        per_tx = con.sql(
            f"SELECT g.tx_hash, g.links FROM (SELECT tx_hash, list(link) AS links FROM ({links}) "
            f"GROUP BY tx_hash) g{skip}",
            params=params,
        ).to_arrow_table(ONE_BATCH)
        per_addr = con.sql(
            f"SELECT address, list(link) AS links FROM ({links}) GROUP BY address", params=params
        ).to_arrow_table(ONE_BATCH)
    tx_offsets, tx_links = _flat(per_tx.column("links"))
    offsets, addr_links = _flat(per_addr.column("links"))
    change = addr_links < 0  # before the ids become positions
    size, (tx_pos, addr_pos) = _dense(tx_links, addr_links)
    tx_of_link = np.full(size, -1, dtype=np.int32)
    tx_of_link[tx_pos] = np.repeat(np.arange(len(tx_offsets) - 1, dtype=np.int32), np.diff(tx_offsets))
    tx = tx_of_link[addr_pos]
    kept = tx >= 0
    if not kept.all():  # links of excluded transactions: drop them, addresses left bare are singletons
        n_addr = len(offsets) - 1
        per_address = np.bincount(np.repeat(np.arange(n_addr), np.diff(offsets))[kept], minlength=n_addr)
        offsets = np.concatenate([[0], np.cumsum(per_address)])
        tx, change = tx[kept], change[kept]
    return LinkGraph(per_addr.column("address"), per_tx.column("tx_hash"), offsets, tx, change)


def representatives(g: LinkGraph, links: np.ndarray | None = None) -> np.ndarray:
    """One address per transaction (among ``links``, default all), -1 for transactions without one."""
    aid, tx = g.address_of_link, g.tx
    rep = np.full(len(g.tx_hashes), -1, dtype=np.int32)
    if links is None:
        rep[tx] = aid
    else:
        rep[tx[links]] = aid[links]
    return rep


def evidence(g: LinkGraph, spender: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per address: a transaction that links it to another address (-1 if none) and the heuristic code
    (index in ``HEURISTICS``). A co-spend with >= 2 distinct addresses is preferred, else a transaction with
    an inferred change output. Vectorised: a transaction has two distinct spenders iff one of its spending
    addresses differs from its representative spender (``spender``, computed unless given)."""
    n_addr, n_tx = len(g.offsets) - 1, len(g.tx_hashes)
    aid, tx, spend = g.address_of_link, g.tx, ~g.change
    if spender is None:
        spender = representatives(g, spend)
    multi_tx = np.zeros(n_tx, dtype=bool)
    multi_tx[tx[spend & (aid != spender[tx])]] = True
    change_tx = np.zeros(n_tx, dtype=bool)
    change_tx[tx[g.change]] = True
    ev = np.full(n_addr, -1, dtype=np.int64)
    code = np.zeros(n_addr, dtype=np.int8)
    via_change = change_tx[tx]
    ev[aid[via_change]] = tx[via_change]
    code[aid[via_change]] = 2
    multi = spend & multi_tx[tx]
    ev[aid[multi]] = tx[multi]
    code[aid[multi]] = 1
    return ev, code


#: Arrow's ``string`` type has 32-bit offsets: one array holds at most this many bytes of strings.
STRING_BYTES_LIMIT = (1 << 31) - 1


def _one_array(chunks: list[pa.Array]) -> pa.Array:
    """The chunks concatenated, as ``large_string`` where their strings pass the 32-bit offset limit (some 33
    million 64-character hashes)."""
    if pa.types.is_string(chunks[0].type) and sum(c.nbytes for c in chunks) > STRING_BYTES_LIMIT:
        chunks = [c.cast(pa.large_string()) for c in chunks]
    return pa.concat_arrays(chunks)


def _lookup(values: pa.ChunkedArray, idx: np.ndarray) -> pa.ChunkedArray:
    """``values[idx]`` (null where ``idx`` < 0) as dictionary arrays over ``values``: no string is copied into
    a new array here (gathering millions of random 64-character hashes costs more than storing them); DuckDB
    reads the dictionaries in place when it stores the rows.

    A dictionary array has one dictionary, and DuckDB returns one chunk per thread: ascending ``idx`` is cut
    where the chunks start, any other is looked up in the chunks concatenated.
    """
    chunks = [c for c in values.chunks if len(c)] or [pa.array([], values.type)]
    if len(chunks) > 1 and len(idx) > 1 and not (idx[1:] >= idx[:-1]).all():
        chunks = [_one_array(chunks)]
    starts = np.cumsum([0] + [len(c) for c in chunks])
    cuts = np.concatenate([[0], np.searchsorted(idx, starts[1:-1]), [len(idx)]])
    parts = []
    for k, chunk in enumerate(chunks):
        at = (idx[cuts[k]:cuts[k + 1]] - starts[k]).astype(np.int32)
        missing = at < 0
        parts.append(pa.DictionaryArray.from_arrays(pa.array(at, mask=missing if missing.any() else None), chunk))
    return pa.chunked_array(parts)


def _evidence_and_hashes(g: LinkGraph, spender: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, pa.ChunkedArray]:
    """``evidence(g, spender)`` and the transaction hashes in one chunk (evidence is looked up in any order)."""
    hashes = g.tx_hashes if g.tx_hashes.num_chunks < 2 else pa.chunked_array([_one_array(g.tx_hashes.chunks)])
    return *evidence(g, spender), hashes


def cluster_and_store(con: duckdb.DuckDBPyConnection, chain: str, g: LinkGraph, heuristics: list[str]) -> dict:
    """Components of ``g`` (scipy); replace the chain's rows in ``clusters`` with its non-singleton clusters
    and log the run in ``cluster_runs`` (one transaction)."""
    n_addr = len(g.offsets) - 1
    rep = representatives(g)
    with ThreadPoolExecutor(1) as pool:  # the evidence (numpy and Arrow, both free the GIL) runs beside scipy
        found = pool.submit(_evidence_and_hashes, g, None if g.change.any() else rep)
        labels = linked_components(g.offsets, rep[g.tx])  # each link joins its address to its tx's representative
        sizes = np.bincount(labels, minlength=1)
        kept = np.flatnonzero(sizes[labels] >= 2)
        ev, code, tx_hashes = found.result()
    out = pa.table(
        {
            "address": _lookup(g.addresses, kept),
            "cluster_id": pa.array(labels[kept]),
            "heuristic": pa.array(code[kept]),
            "evidence_tx": _lookup(tx_hashes, ev[kept]),
        }
    )
    names = " ".join(f"WHEN {i} THEN '{h}'" for i, h in enumerate(HEURISTICS))
    n_stored, n_clusters = len(kept), int(np.count_nonzero(sizes >= 2))
    con.register("_cs_out", out)
    try:
        with transaction(con):
            con.execute("DELETE FROM clusters WHERE chain = ?", [chain])
            con.execute(
                "INSERT INTO clusters (chain, address, cluster_id, heuristic, evidence_tx) "
                f"SELECT $chain, address, cluster_id, CASE heuristic {names} END, evidence_tx FROM _cs_out",
                {"chain": chain},
            )
            con.execute(
                "INSERT INTO cluster_runs (chain, heuristics, addresses, clusters, links, excluded_txs) "
                "VALUES (?, ?, ?, ?, ?, 0)",
                [chain, ", ".join(heuristics), n_stored, n_clusters, len(g.tx)],
            )
    finally:
        con.unregister("_cs_out")
    return {
        "chain": chain,
        "heuristics": heuristics,
        "addresses": n_stored,
        "clusters": n_clusters,
        "largest": int(sizes.max()) if n_addr else 0,
        "links": int(len(g.tx)),
    }
