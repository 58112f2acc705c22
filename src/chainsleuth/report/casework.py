"""An analyst's case material from the web UI and API: notes on addresses and saved graph views.

Tags go to the tag store (:func:`chainsleuth.labels.tagstore.add_tag`); notes and views live here
(tables ``address_notes`` and ``case_views``), each write one transaction.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from chainsleuth.errors import ChainsleuthError, NotFoundError
from chainsleuth.model import normalize_address
from chainsleuth.store import transaction

MAX_VIEW_BYTES = 2_000_000


def add_note(con: duckdb.DuckDBPyConnection, chain: str, address: str, note: str, *, added_by: str,
             case_id: str | None = None) -> dict[str, Any]:
    if not note.strip():
        raise ChainsleuthError("a note needs text")
    a = normalize_address(address, chain)
    with transaction(con):
        nid = con.execute(
            "INSERT INTO address_notes (note_id, chain, address, note, case_id, added_by) "
            "VALUES (nextval('note_ids'), ?, ?, ?, ?, ?) RETURNING note_id",
            [chain, a, note.strip(), case_id, added_by],
        ).fetchone()[0]
    return {"note_id": nid, "chain": chain, "address": a, "note": note.strip(), "case_id": case_id,
            "added_by": added_by}


def save_view(con: duckdb.DuckDBPyConnection, name: str, payload: dict[str, Any], *, created_by: str,
              case_id: str | None = None) -> dict[str, Any]:
    """Store a graph view (nodes, edges, positions, trace parameters) under ``name``."""
    if not name.strip():
        raise ChainsleuthError("a saved view needs a name")
    text = json.dumps(payload, separators=(",", ":"))
    if len(text) > MAX_VIEW_BYTES:
        raise ChainsleuthError(f"view too large ({len(text)} bytes > {MAX_VIEW_BYTES})")
    with transaction(con):
        vid = con.execute(
            "INSERT INTO case_views (view_id, name, case_id, payload, created_by) "
            "VALUES (nextval('case_view_ids'), ?, ?, ?, ?) RETURNING view_id",
            [name.strip(), case_id, text, created_by],
        ).fetchone()[0]
    return {"view_id": vid, "name": name.strip(), "case_id": case_id, "created_by": created_by}


def list_views(con: duckdb.DuckDBPyConnection, *, limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
    total = con.execute("SELECT count(*) FROM case_views").fetchone()[0]
    rows = con.execute(
        "SELECT view_id, name, case_id, created_by, created_at FROM case_views ORDER BY view_id DESC "
        "LIMIT ? OFFSET ?", [limit, offset]).fetchall()
    keys = ["view_id", "name", "case_id", "created_by", "created_at"]
    return [dict(zip(keys, r, strict=True)) for r in rows], total


def get_view(con: duckdb.DuckDBPyConnection, view_id: int) -> dict[str, Any]:
    row = con.execute(
        "SELECT view_id, name, case_id, created_by, created_at, payload FROM case_views WHERE view_id = ?",
        [view_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no saved view {view_id}")
    return {"view_id": row[0], "name": row[1], "case_id": row[2], "created_by": row[3], "created_at": row[4],
            "payload": json.loads(row[5])}
