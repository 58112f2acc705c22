"""Incremental, reorg-safe block sync from a node: the part shared by the EVM and Bitcoin ingesters.

A ``NodeSource`` knows how to read one chain's node (head, block hashes, a range of blocks turned into
canonical rows); ``sync`` drives it:

* **Pipeline.** Ranges of ``batch_size`` blocks are fetched and transformed by ``workers`` threads (network
  and DuckDB's JSON parser both release the GIL) and written in block order by the calling thread.
* **One transaction per range.** Rows, ``ingest_state`` (last block and hash) and the load's provenance commit
  together, so an interrupted run leaves whole ranges only and a restart continues after the last one.
* **Reorgs.** Before writing a range its first block's parent hash is compared with the stored block below
  it (and any already-stored block in the range with its new hash). On a mismatch the stored chain is walked
  back, comparing stored hashes with the node's, to the fork point; the orphaned blocks' rows are deleted from
  every ledger table, the node's new branch is fetched and written, and the event is recorded in ``reorgs``,
  all in one transaction.
* **Idempotent.** Blocks already stored with the same hash are skipped, so ranges may overlap earlier runs.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from chainsleuth import store
from chainsleuth.errors import ChainsleuthError
from chainsleuth.store.stale import mark_orphaned

#: Ledger tables holding per-block rows, with their block-number column: what a reorg deletes.
LEDGER_TABLES = {
    "blocks": "number",
    "transactions": "block_number",
    "transfers": "block_number",
    "utxo_outputs": "block_number",
    "utxo_inputs": "block_number",
}


@dataclass
class Chunk:
    """Blocks ``first..last`` read from the node: their (number, hash, parent hash) and canonical rows."""

    first: int
    last: int
    headers: list[tuple[int, str, str | None]]
    tables: dict[str, pa.Table]
    extra: dict = field(default_factory=dict)

    def without_blocks(self, numbers: set[int]) -> Chunk:
        """The same chunk less the rows of ``numbers`` (blocks already stored with the same hash)."""
        if not numbers:
            return self
        keep = pa.array(sorted(numbers), pa.int64())
        tables = {}
        for name, tbl in self.tables.items():
            col = LEDGER_TABLES.get(name, "block_number")
            tables[name] = tbl.filter(pc.invert(pc.is_in(tbl[col].cast(pa.int64()), value_set=keep)))
        headers = [h for h in self.headers if h[0] not in numbers]
        return Chunk(self.first, self.last, headers, tables, self.extra)


class NodeSource(Protocol):
    chain: str
    source: str

    def head(self) -> int:
        """Number of the node's newest block."""

    def hashes(self, numbers: Sequence[int]) -> dict[int, str]:
        """The node's current hash of each block in ``numbers`` (missing ones absent)."""

    def fetch(self, first: int, last: int) -> Chunk:
        """Blocks ``first..last`` as canonical rows. Called from worker threads."""

    def prepare(self, con: duckdb.DuckDBPyConnection, chunk: Chunk) -> None:
        """Writer-side work before the range's transaction opens (e.g. reading token metadata)."""

    def write(self, con: duckdb.DuckDBPyConnection, chunk: Chunk) -> dict[str, int]:
        """Insert the chunk's rows (inside the transaction); returns rows added per table."""

    def close(self) -> None: ...


@dataclass
class Reorg:
    fork_block: int
    orphaned_from: int
    orphaned_to: int
    rows_deleted: int
    stale: dict[str, int] = field(default_factory=dict)  # saved analyses marked stale: {"traces": n, ...}

    def to_dict(self) -> dict:
        return {"fork_block": self.fork_block, "orphaned_from": self.orphaned_from,
                "orphaned_to": self.orphaned_to, "rows_deleted": self.rows_deleted, "stale": dict(self.stale)}


@dataclass
class SyncStats:
    """What one run did. ``rows`` counts rows added per table; ``blocks`` blocks written."""

    chain: str
    source: str
    first_block: int | None = None
    last_block: int | None = None
    blocks: int = 0
    skipped_blocks: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    reorgs: list[Reorg] = field(default_factory=list)
    seconds: float = 0.0
    load_id: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def blocks_per_second(self) -> float:
        return self.blocks / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "chain": self.chain, "source": self.source, "first_block": self.first_block,
            "last_block": self.last_block, "blocks": self.blocks, "skipped_blocks": self.skipped_blocks,
            "rows": dict(self.rows), "reorgs": [r.to_dict() for r in self.reorgs],
            "seconds": round(self.seconds, 3), "blocks_per_second": round(self.blocks_per_second, 1),
            "load_id": self.load_id, "notes": list(self.notes),
        }


Progress = Callable[[SyncStats, int, int], None]  # (stats so far, last block written, target block)


def resume_point(con: duckdb.DuckDBPyConnection, chain: str, source: str) -> int:
    """First block to read when no ``--from-block`` is given: after this source's last block, else after the
    chain's highest stored block (e.g. an ETL load), else genesis."""
    row = con.execute("SELECT last_block FROM ingest_state WHERE chain = ? AND source = ?", [chain, source]).fetchone()
    if row:
        return int(row[0]) + 1
    row = con.execute("SELECT max(number) FROM blocks WHERE chain = ?", [chain]).fetchone()
    return int(row[0]) + 1 if row and row[0] is not None else 0


def _stored_hashes(con: duckdb.DuckDBPyConnection, chain: str, lo: int, hi: int) -> dict[int, str]:
    rows = con.execute("SELECT number, hash FROM blocks WHERE chain = ? AND number BETWEEN ? AND ?", [chain, lo, hi])
    return dict(rows.fetchall())


def _check_links(chunk: Chunk) -> None:
    """Consecutive blocks of one chunk must link; otherwise the node switched branches mid-read."""
    for (n0, h0, _), (n1, _, p1) in zip(chunk.headers, chunk.headers[1:], strict=False):
        if n1 != n0 + 1 or (p1 is not None and p1 != h0):
            raise _Inconsistent(f"blocks {n0} and {n1} do not link (node switched branch while being read)")


class _Inconsistent(Exception):
    pass


def find_fork(con: duckdb.DuckDBPyConnection, src: NodeSource, below: int, max_depth: int) -> tuple[int, str | None]:
    """Highest block <= ``below`` whose stored hash equals the node's: (number, hash).

    Compares at most ``max_depth`` blocks back; (lowest stored - 1, None) when every stored block from there
    up differs (the whole stored range is orphaned), (-1, None) when nothing is stored.
    """
    lowest = con.execute("SELECT min(number) FROM blocks WHERE chain = ?", [src.chain]).fetchone()[0]
    if lowest is None:
        return -1, None
    floor = max(lowest, below - max_depth)
    n = below
    while n >= floor:
        lo = max(floor, n - 63)
        stored = _stored_hashes(con, src.chain, lo, n)
        node = src.hashes(range(lo, n + 1))
        for k in range(n, lo - 1, -1):
            if k in stored and node.get(k) == stored[k]:
                return k, stored[k]
        n = lo - 1
    if floor > lowest:
        raise ChainsleuthError(
            f"{src.chain}: reorganisation deeper than {max_depth} blocks below block {below}: refusing to delete "
            "that much; check the node is on the right network, or raise --max-reorg-depth"
        )
    return lowest - 1, None


def _delete_above(con: duckdb.DuckDBPyConnection, chain: str, fork: int) -> int:
    deleted = 0
    existing = set(store.tables(con))
    for table, col in LEDGER_TABLES.items():
        if table in existing:
            deleted += con.execute(f"DELETE FROM {table} WHERE chain = ? AND {col} > ?", [chain, fork]).fetchone()[0]
    return deleted


def sync(
    con: duckdb.DuckDBPyConnection,
    src: NodeSource,
    *,
    start: int | None = None,
    end: int | None = None,
    follow: bool = False,
    confirmations: int = 0,
    batch_size: int = 50,
    workers: int = 4,
    poll_interval: float = 2.0,
    max_reorg_depth: int = 1000,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
    load_kind: str = "rpc",
) -> SyncStats:
    """Ingest blocks ``start..end`` (default: resume point .. head - confirmations), or follow the head."""
    if batch_size < 1 or workers < 1 or confirmations < 0:
        raise ChainsleuthError("--batch-size and --workers must be >= 1, --confirmations >= 0")
    stats = SyncStats(chain=src.chain, source=src.source)
    t0 = time.perf_counter()
    if start is None:
        start = resume_point(con, src.chain, src.source)
    if start < 0:
        raise ChainsleuthError(f"--from-block must be >= 0, got {start}")

    def target() -> int:
        tip = src.head() - confirmations
        if end is not None and not follow:
            if end > tip:
                raise ChainsleuthError(
                    f"{src.chain}: block {end} is not available yet (node head {tip + confirmations}, "
                    f"{confirmations} confirmations required)"
                )
            return end
        return tip if end is None else min(end, tip)

    goal = target()
    next_start = start
    pending: deque[tuple[int, int, Future[Chunk]]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="node-fetch") as pool:
        try:
            while True:
                if stop is not None and stop():
                    break
                while next_start <= goal and len(pending) < workers * 2:
                    last = min(goal, next_start + batch_size - 1)
                    pending.append((next_start, last, pool.submit(src.fetch, next_start, last)))
                    next_start = last + 1
                if not pending:
                    if not follow or (end is not None and next_start > end):
                        break
                    time.sleep(poll_interval)
                    goal = target()
                    continue
                _first, _last, fut = pending.popleft()
                chunk = fut.result()
                written_to, reorged = _write_chunk(con, src, chunk, stats, max_reorg_depth, load_kind)
                if reorged:
                    # After a reorg the ranges in flight may hold the orphaned branch: read them again.
                    for _, _, f in pending:
                        f.cancel()
                    pending.clear()
                    next_start = written_to + 1
                    goal = target()
                stats.seconds = time.perf_counter() - t0
                if progress is not None:
                    progress(stats, written_to, goal)
        finally:
            for _, _, f in pending:
                f.cancel()
    stats.seconds = time.perf_counter() - t0
    return stats


def _write_chunk(
    con: duckdb.DuckDBPyConnection, src: NodeSource, chunk: Chunk, stats: SyncStats, max_depth: int, load_kind: str
) -> tuple[int, bool]:
    """Write one fetched range, handling a reorg below or inside it: (last block written, reorg happened)."""
    for _attempt in range(5):
        try:
            _check_links(chunk)
        except _Inconsistent:
            chunk = src.fetch(chunk.first, chunk.last)
            continue
        stored = _stored_hashes(con, src.chain, chunk.first - 1, chunk.last)
        mismatch: int | None = None
        for number, h, parent in chunk.headers:
            if number - 1 in stored and parent is not None and stored[number - 1] != parent and number - 1 < chunk.first:
                mismatch = number - 1
                break
            if number in stored and stored[number] != h:
                mismatch = number
                break
        if mismatch is None:
            same = {n for n, h, _ in chunk.headers if stored.get(n) == h}
            _commit(con, src, [chunk.without_blocks(same)], stats, None, load_kind)
            stats.skipped_blocks += len(same)
            return chunk.last, False
        fork, fork_hash = find_fork(con, src, mismatch, max_depth)
        parts: list[Chunk] = []
        if fork + 1 <= chunk.first - 1:
            below = src.fetch(fork + 1, chunk.first - 1)
            try:
                _check_links(below)
            except _Inconsistent:
                chunk = src.fetch(chunk.first, chunk.last)
                continue
            if below.headers and chunk.headers and chunk.headers[0][2] not in (None, below.headers[-1][1]):
                chunk = src.fetch(chunk.first, chunk.last)  # the node moved again: start over
                continue
            parts.append(below)
        parts.append(chunk.without_blocks({n for n, _, _ in chunk.headers if n <= fork}))
        if fork_hash is not None and parts[0].headers and parts[0].headers[0][2] not in (None, fork_hash):
            chunk = src.fetch(chunk.first, chunk.last)
            continue
        _commit(con, src, parts, stats, (fork, fork_hash), load_kind)
        return chunk.last, True
    raise ChainsleuthError(f"{src.chain}: the node kept switching branches around blocks {chunk.first}..{chunk.last}")


def _commit(
    con: duckdb.DuckDBPyConnection,
    src: NodeSource,
    parts: list[Chunk],
    stats: SyncStats,
    fork: tuple[int, str | None] | None,
    load_kind: str,
) -> None:
    for part in parts:
        src.prepare(con, part)
    last_number, last_hash = parts[-1].headers[-1][:2] if parts[-1].headers else (None, None)
    if last_number is None:  # every block already stored: only the resume point moves
        row = con.execute("SELECT hash FROM blocks WHERE chain = ? AND number = ?", [src.chain, parts[-1].last]).fetchone()
        last_number, last_hash = parts[-1].last, row[0] if row else None
    with store.transaction(con):
        reorg = None
        if fork is not None:
            old = con.execute(
                "SELECT max(number), arg_max(hash, number) FROM blocks WHERE chain = ?", [src.chain]
            ).fetchone()
            orphaned_to = int(old[0]) if old[0] is not None else fork[0]
            # Before the delete: staleness is judged from the orphaned blocks' transactions and times.
            stale = mark_orphaned(con, src.chain, fork[0] + 1, orphaned_to) if orphaned_to > fork[0] else {}
            deleted = _delete_above(con, src.chain, fork[0])
            reorg = Reorg(fork[0], fork[0] + 1, orphaned_to, deleted, stale)
            con.execute(
                "INSERT INTO reorgs (chain, source, fork_block, fork_hash, orphaned_from, orphaned_to, old_tip_hash, "
                "rows_deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [src.chain, src.source, reorg.fork_block, fork[1], reorg.orphaned_from, reorg.orphaned_to, old[1],
                 deleted],
            )
        added: dict[str, int] = {}
        for part in parts:
            for table, n in src.write(con, part).items():
                added[table] = added.get(table, 0) + n
        if last_hash is not None:
            con.execute(
                "INSERT INTO ingest_state (chain, source, last_block, last_hash) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (chain, source) DO UPDATE SET last_block = excluded.last_block, "
                "last_hash = excluded.last_hash, updated_at = now()::TIMESTAMP",
                [src.chain, src.source, last_number, last_hash],
            )
        total = sum(added.values())
        if stats.load_id is None:
            stats.load_id = store.record_load(con, src.chain, src.source, load_kind, total)
        else:
            con.execute("UPDATE loads SET rows_added = rows_added + ? WHERE load_id = ?", [total, stats.load_id])
    # Only after COMMIT: the run's statistics describe what is stored.
    if reorg is not None:
        stats.reorgs.append(reorg)
    for table, n in added.items():
        stats.rows[table] = stats.rows.get(table, 0) + n
    written = sum(len(p.headers) for p in parts)
    stats.blocks += written
    firsts = [p.headers[0][0] for p in parts if p.headers]
    if firsts:
        stats.first_block = min(firsts) if stats.first_block is None else min(stats.first_block, min(firsts))
    stats.last_block = last_number
