"""Staleness of saved analyses after a chain reorganisation.

A saved trace or stored incident is evidence for a claim; when a reorg orphans blocks it drew on, the claim
may no longer hold (a transaction can vanish or move). Rather than silently keep serving it, the reorg marks it
stale in ``stale_analyses`` (migration 0700) and every reader shows ``stale: true`` with the orphaned range, so
the analyst re-runs it. Set-based: one INSERT ... SELECT per analysis kind.
"""

from __future__ import annotations

import duckdb


def mark_orphaned(con: duckdb.DuckDBPyConnection, chain: str, orphaned_from: int, orphaned_to: int) -> dict[str, int]:
    """Mark the analyses of ``chain`` that used blocks ``orphaned_from..orphaned_to`` stale.

    Call inside the reorg's transaction *before* the orphaned rows are deleted (incident evidence is matched
    against their transactions and times). Returns how many traces and incidents were marked.
    """
    args = [chain, orphaned_from, orphaned_to]
    traces = con.execute(
        "INSERT INTO stale_analyses (kind, analysis_id, chain, orphaned_from, orphaned_to) "
        "SELECT 'trace', trace_id::VARCHAR, chain, $2, $3 FROM traces "
        "WHERE chain = $1 AND first_block <= $3 AND last_block >= $2",
        args,
    ).fetchone()[0]
    incidents = con.execute(
        """
        INSERT INTO stale_analyses (kind, analysis_id, chain, orphaned_from, orphaned_to)
        WITH orphan_txs AS (
            SELECT hash AS tx_hash FROM transactions WHERE chain = $1 AND block_number BETWEEN $2 AND $3
            UNION SELECT tx_hash FROM transfers WHERE chain = $1 AND block_number BETWEEN $2 AND $3
        ), span AS (
            SELECT min(block_time) AS t0, max(block_time) AS t1 FROM blocks
            WHERE chain = $1 AND number BETWEEN $2 AND $3
        ), evidence AS (
            SELECT incident_id, unnest(tx_hashes) AS tx_hash FROM incident_victims WHERE chain = $1
            UNION ALL SELECT incident_id, unnest(tx_hashes) FROM incident_attackers WHERE chain = $1
        )
        SELECT 'incident', i.incident_id, i.chain, $2, $3 FROM incidents i, span
        WHERE i.chain = $1 AND (
            (i.window_start <= span.t1 AND i.window_end >= span.t0)
            OR i.incident_id IN (SELECT e.incident_id FROM evidence e JOIN orphan_txs o USING (tx_hash)))
        """,
        args,
    ).fetchone()[0]
    return {"traces": int(traces), "incidents": int(incidents)}


def staleness(con: duckdb.DuckDBPyConnection, kind: str, analysis_id: str | int,
              since: object | None = None) -> list[dict]:
    """The reorgs that made one analysis stale (empty: current). ``since``: ignore markings before this time
    (an incident re-detected after a reorg is current again)."""
    rows = con.execute(
        "SELECT orphaned_from, orphaned_to, marked_at FROM stale_analyses WHERE kind = ? AND analysis_id = ? "
        "AND (?::TIMESTAMP IS NULL OR marked_at >= ?::TIMESTAMP) ORDER BY marked_at, orphaned_from",
        [kind, str(analysis_id), since, since],
    ).fetchall()
    return [{"orphaned_from": a, "orphaned_to": b, "marked_at": t} for a, b, t in rows]
