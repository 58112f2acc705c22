"""The watch-list: attacker and tainted addresses whose funds we follow (table ``watchlist``)."""

from __future__ import annotations

from typing import Any

import duckdb

from chainsleuth.errors import ChainsleuthError, NotFoundError
from chainsleuth.model import normalize_address
from chainsleuth.store import transaction
from chainsleuth.store.ledger import ensure_chain


def add(
    con: duckdb.DuckDBPyConnection,
    addresses: list[str],
    chain: str,
    *,
    label: str | None = None,
    case_id: str | None = None,
    added_by: str = "chainsleuth",
    from_block: int | None = None,
) -> dict[str, Any]:
    """Watch ``addresses`` on ``chain`` (re-adding updates label/case and re-activates).

    The first watch on a chain starts monitoring at the newest stored block (alerts are for *new* blocks);
    ``from_block`` moves that start back, to alert on moves already ingested.
    """
    if not addresses:
        raise ChainsleuthError("no address to watch")
    norm = list(dict.fromkeys(normalize_address(a, chain) for a in addresses))
    with transaction(con):
        ensure_chain(con, chain)
        for a in norm:
            con.execute(
                """
                INSERT INTO watchlist (chain, address, label, case_id, source, added_by) VALUES (?, ?, ?, ?, 'manual', ?)
                ON CONFLICT (chain, address) DO UPDATE SET label = coalesce(excluded.label, watchlist.label),
                    case_id = coalesce(excluded.case_id, watchlist.case_id), active = true, source = 'manual'
                """,
                [chain, a, label, case_id, added_by],
            )
        head = con.execute("SELECT max(number) FROM blocks WHERE chain = ?", [chain]).fetchone()[0]
        start = from_block - 1 if from_block is not None else (head if head is not None else -1)
        if from_block is not None:
            con.execute(
                "INSERT INTO watch_state (chain, last_block) VALUES (?, ?) ON CONFLICT (chain) DO UPDATE "
                "SET last_block = least(watch_state.last_block, excluded.last_block), updated_at = now()",
                [chain, start],
            )
        else:
            con.execute(
                "INSERT INTO watch_state (chain, last_block) VALUES (?, ?) ON CONFLICT DO NOTHING", [chain, start]
            )
        last = con.execute("SELECT last_block FROM watch_state WHERE chain = ?", [chain]).fetchone()[0]
    return {"chain": chain, "added": norm, "label": label, "case_id": case_id, "watching_after_block": last}


def remove(con: duckdb.DuckDBPyConnection, address: str, chain: str) -> None:
    """Stop watching ``address`` (kept, inactive, so its alerts keep their context)."""
    a = normalize_address(address, chain)
    with transaction(con):
        n = con.execute(
            "UPDATE watchlist SET active = false WHERE chain = ? AND address = ? AND active RETURNING 1", [chain, a]
        ).fetchall()
    if not n:
        raise NotFoundError(f"{a} is not on the {chain} watch-list")


def entries(
    con: duckdb.DuckDBPyConnection,
    chain: str | None = None,
    *,
    include_inactive: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Watch-list rows (newest first) and the total count matching the filter."""
    where = "WHERE (? IS NULL OR chain = ?)" + ("" if include_inactive else " AND active")
    total = con.execute(f"SELECT count(*) FROM watchlist {where}", [chain, chain]).fetchone()[0]
    res = con.execute(
        f"SELECT chain, address, label, case_id, source, parent_address, since_block, added_by, added_at, active "
        f"FROM watchlist {where} ORDER BY added_at DESC, chain, address LIMIT ? OFFSET ?",
        [chain, chain, limit if limit is not None else 2**62, offset],
    )
    cols = [d[0] for d in res.description]
    return [dict(zip(cols, r, strict=True)) for r in res.fetchall()], total
