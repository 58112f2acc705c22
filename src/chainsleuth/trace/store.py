"""Saving trace results: the JSON result plus the block range it read, so a later reorg or re-ingest of that
range can mark it stale."""

from __future__ import annotations

import json

import duckdb

from chainsleuth import store
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
