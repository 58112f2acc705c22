"""Saving trace results: the JSON result plus the block range it read, so a later reorg or re-ingest of that
range can mark it stale."""

from __future__ import annotations

import json

import duckdb

from chainsleuth import store
from chainsleuth.errors import NotFoundError
from chainsleuth.store.stale import staleness
from chainsleuth.trace.result import TraceResult


def save_trace(con: duckdb.DuckDBPyConnection, result: TraceResult) -> int:
    """Store ``result`` in ``traces``; returns its trace_id."""
    data = result.to_dict()
    blocks = [e.block_number for e in result.edges]
    with store.transaction(con):
        trace_id = con.execute("SELECT nextval('trace_ids')").fetchone()[0]
        con.execute(
            "INSERT INTO traces (trace_id, chain, direction, model, sources, first_block, last_block, result) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [trace_id, result.chain, result.direction, result.model, result.sources, min(blocks, default=None),
             max(blocks, default=None), json.dumps(data, default=str)],
        )
    return int(trace_id)


def _summary(row: tuple, stale: list[dict]) -> dict:
    trace_id, created, chain, direction, model, sources, first, last = row
    return {"trace_id": int(trace_id), "created_at": created, "chain": chain, "direction": direction,
            "model": model, "sources": list(sources), "first_block": first, "last_block": last,
            "stale": bool(stale), "stale_reasons": stale}


_COLS = "trace_id, created_at, chain, direction, model, sources, first_block, last_block"


def list_traces(con: duckdb.DuckDBPyConnection, chain: str | None = None) -> list[dict]:
    """Saved traces, newest first, each with ``stale`` (a reorg orphaned blocks its edges came from)."""
    rows = con.execute(
        f"SELECT {_COLS} FROM traces WHERE ? IS NULL OR chain = ? ORDER BY trace_id DESC", [chain, chain]
    ).fetchall()
    return [_summary(r, staleness(con, "trace", r[0])) for r in rows]


def load_trace(con: duckdb.DuckDBPyConnection, trace_id: int) -> dict:
    """A saved trace's result JSON plus ``trace_id``, ``created_at``, ``stale`` and ``stale_reasons``."""
    row = con.execute(f"SELECT {_COLS}, result FROM traces WHERE trace_id = ?", [trace_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no saved trace {trace_id} (save one with `chainsleuth trace ... --save`)")
    summary = _summary(row[:-1], staleness(con, "trace", trace_id))
    return {**json.loads(row[-1]), **{k: summary[k] for k in ("trace_id", "created_at", "stale", "stale_reasons")}}
