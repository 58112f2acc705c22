"""Fast text writers: CSV with minimal quoting (as Python's ``csv`` module and ethereum-etl write it) and
JSON lines, both assembled column-wise with Arrow compute kernels and written straight from the Arrow
string buffer: no per-row Python.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CHUNK = 400_000


def s(values: pa.Array | np.ndarray | Sequence) -> pa.Array:
    """Any column as an Arrow string array ('' for nulls, decimal for integers)."""
    if not isinstance(values, pa.Array | pa.ChunkedArray):
        arr = np.asarray(values)
        values = pa.array(arr) if arr.dtype != object else pa.array(arr.tolist())
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        values = pc.cast(values, pa.string())
    return pc.fill_null(values, "")


def csv_quote(col: pa.Array) -> pa.Array:
    """Quote a field only where it holds a comma, quote or newline (QUOTE_MINIMAL)."""
    need = pc.match_substring_regex(col, '[,"\\n]')
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(col, '"', '""'), '"', "")
    return pc.if_else(need, quoted, col)


def _write_lines(fh: BinaryIO, lines: pa.Array) -> None:
    if isinstance(lines, pa.ChunkedArray):
        for chunk in lines.chunks:
            _write_lines(fh, chunk)
        return
    if len(lines) == 0:
        return
    if lines.null_count:
        raise ValueError("null line")
    offs = np.frombuffer(
        lines.buffers()[1], dtype=np.int64 if pa.types.is_large_string(lines.type) else np.int32
    )
    offs = offs[lines.offset : lines.offset + len(lines) + 1]
    fh.write(memoryview(lines.buffers()[2])[int(offs[0]) : int(offs[-1])])


def _pipeline(fh: BinaryIO, n: int, build: Callable[[int, int], pa.Array]) -> None:
    """Build and write the chunks ``build(lo, hi)`` in order. Serial on purpose: building chunks ahead on
    worker threads measured slower on two cores (the kernels and the page-cache copy compete for them)."""
    for lo in range(0, n, CHUNK):
        _write_lines(fh, build(lo, min(n, lo + CHUNK)))


def write_csv(
    path: Path,
    header: Sequence[str],
    n: int,
    rows: Callable[[int, int], list[pa.Array]],
    quote: Sequence[str] = (),
) -> int:
    """Write ``n`` rows whose columns ``rows(lo, hi)`` returns as string arrays (or plain strings for
    constant columns), in chunks. Returns bytes."""
    qidx = {header.index(c) for c in quote}

    def build(lo: int, hi: int) -> pa.Array:
        cols = rows(lo, hi)
        if len(cols) != len(header):
            raise ValueError(f"{path.name}: {len(cols)} columns for {len(header)} names")
        cols = [csv_quote(c) if i in qidx and not isinstance(c, str) else c for i, c in enumerate(cols)]
        # the newline rides on the (short) last column: one pass over the row bytes fewer
        last = cols[-1]
        cols[-1] = last + "\n" if isinstance(last, str) else pc.binary_join_element_wise(last, "\n", "")
        return pc.binary_join_element_wise(*[pa.scalar(c) if isinstance(c, str) else c for c in cols], ",")

    with path.open("wb") as fh:
        fh.write((",".join(header) + "\n").encode())
        _pipeline(fh, n, build)
        return fh.tell()


def join_lines(parts: list[pa.Array | str], n: int) -> pa.Array:
    """Concatenate literal strings and string columns element-wise into one line per row (literals are
    broadcast as scalars, never materialised per row)."""
    if all(isinstance(p, str) for p in parts):
        return pa.array(["".join(parts)] * n, type=pa.string())
    return pc.binary_join_element_wise(*[pa.scalar(p) if isinstance(p, str) else p for p in parts], "")


def write_lines(path: Path, n: int, lines: Callable[[int, int], pa.Array]) -> int:
    """Write ``n`` pre-built lines (each ending in a newline), produced in chunks by ``lines(lo, hi)``."""
    with path.open("wb") as fh:
        _pipeline(fh, n, lines)
        return fh.tell()


def by_kind(kind: np.ndarray, build: dict[int, Callable[[np.ndarray], pa.Array]]) -> pa.Array:
    """Row i is built by ``build[kind[i]]``, which gets the positions of its rows and returns their strings
    in order: each kind is formatted on its own rows only, then one ``take`` restores the row order."""
    parts: list[pa.Array] = []
    where: list[np.ndarray] = []
    for k, fn in build.items():
        rows = np.flatnonzero(kind == k)
        if len(rows):
            parts.append(fn(rows).cast(pa.string()))
            where.append(rows)
    if not parts:
        return pa.array([], pa.string())
    pos = np.concatenate(where)
    if len(pos) != len(kind):
        raise ValueError("by_kind: rows of a kind without a builder")
    inverse = np.empty(len(pos), dtype=np.int64)
    inverse[pos] = np.arange(len(pos))
    return pc.take(pa.concat_arrays(parts), pa.array(inverse))


def group_join(fragments: pa.Array, offsets: np.ndarray, sep: str) -> pa.Array:
    """Join ``fragments[offsets[i]:offsets[i+1]]`` with ``sep`` for every group i (nested JSON lists)."""
    lists = pa.ListArray.from_arrays(pa.array(np.asarray(offsets, dtype=np.int32)), fragments)
    return pc.fill_null(pc.binary_join(lists, sep), "")


_JOBS: list[Callable[[], Any]] = []  # read by the forked workers of :func:`run_parallel`


def _run_job(i: int) -> Any:
    return _JOBS[i]()


def default_workers() -> int:
    """Writer processes: one per CPU this process may use, at most four (the simulator has four jobs)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


def run_parallel(jobs: list[Callable[[], Any]], workers: int | None = None) -> list[Any]:
    """Run independent file writers, longest first, in ``workers`` forked processes; returns their results
    in order. Forked workers share the finished world copy-on-write, so nothing big is pickled (the jobs
    are closures, reached through a module global the fork copies). One worker, or no ``fork`` on this
    platform: in this process, one after the other. The files are the same either way."""
    workers = default_workers() if workers is None else max(1, int(workers))
    if workers == 1 or len(jobs) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [job() for job in jobs]
    _JOBS[:] = jobs
    try:
        with multiprocessing.get_context("fork").Pool(min(workers, len(jobs))) as pool:
            results = pool.map(_run_job, range(len(jobs)), chunksize=1)
            pool.close()
            pool.join()
        return results
    finally:
        _JOBS.clear()
