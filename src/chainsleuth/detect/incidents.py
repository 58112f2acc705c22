"""Detected incidents in the store: run detection, save (replacing a chain's earlier results in one
transaction), list and fetch them with their evidence."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb

from chainsleuth.detect.drain import DrainParams, Incident, Victim, detect_drain_waves
from chainsleuth.errors import NotFoundError
from chainsleuth.store import transaction
from chainsleuth.store.stale import staleness


def detect_incidents(
    con: duckdb.DuckDBPyConnection,
    chains: list[str] | None = None,
    *,
    since: datetime | None = None,
    params: DrainParams | None = None,
    save: bool = True,
) -> list[Incident]:
    """Detect drain waves on ``chains`` (default: every chain stored), store them, return them by loss."""
    if not chains:
        chains = [r[0] for r in con.execute("SELECT chain FROM chains ORDER BY chain").fetchall()]
    found: list[Incident] = []
    for chain in chains:
        incidents = detect_drain_waves(con, chain, since=since, params=params)
        if save:
            save_incidents(con, chain, incidents, since=since)
        found.extend(incidents)
    found.sort(key=lambda i: (-(i.loss_usd or 0.0), i.window_start, i.incident_id))
    return found


def save_incidents(
    con: duckdb.DuckDBPyConnection, chain: str, incidents: list[Incident], *, since: datetime | None = None
) -> None:
    """Replace the stored drain-wave incidents of ``chain`` (from ``since`` on) with ``incidents``, atomically."""
    with transaction(con):
        old = [
            r[0]
            for r in con.execute(
                "SELECT incident_id FROM incidents WHERE chain = ? AND kind = 'drain-wave' AND window_start >= ?",
                [chain, since or datetime(1970, 1, 1)],
            ).fetchall()
        ] + [i.incident_id for i in incidents]
        for table in ("incident_losses", "incident_victims", "incident_attackers", "incidents"):
            con.execute(f"DELETE FROM {table} WHERE incident_id IN (SELECT unnest(?))", [old])
        for inc in incidents:
            con.execute(
                "INSERT INTO incidents (incident_id, chain, kind, window_start, window_end, victim_count, "
                "attacker_count, loss_usd, consolidated, parameters) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [inc.incident_id, chain, inc.kind, inc.window_start, inc.window_end, len(inc.victims),
                 len(inc.attackers), inc.loss_usd, inc.consolidated, json.dumps(inc.parameters, sort_keys=True)],
            )
            _many(
                con,
                "INSERT INTO incident_losses VALUES (?, ?, ?, ?, ?)",
                [[inc.incident_id, x["asset"], x["symbol"], x["amount"], x["usd"]] for x in inc.losses],
            )
            _many(
                con,
                "INSERT INTO incident_victims VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [inc.incident_id, chain, v.address, a["asset"], a["amount"], a["balance_before"], a["usd"],
                     v.first_drain, v.last_drain, a["tx_hashes"]]
                    for v in inc.victims for a in v.assets
                ],
            )
            _many(
                con,
                "INSERT INTO incident_attackers VALUES (?, ?, ?, ?, ?, ?, ?)",
                [[inc.incident_id, chain, a["address"], a["role"], a["first_seen"], a["victims"], a["tx_hashes"]]
                 for a in inc.attackers],
            )


def _many(con: duckdb.DuckDBPyConnection, sql: str, rows: list) -> None:
    if rows:
        con.executemany(sql, rows)


def _load(con: duckdb.DuckDBPyConnection, row: tuple) -> Incident:
    iid, chain, kind, start, end, loss_usd, consolidated, params = row
    assets = {
        a[0]: a[1]
        for a in con.execute("SELECT asset, symbol FROM assets WHERE chain = ?", [chain]).fetchall()
    }
    victims: dict[str, Victim] = {}
    for addr, asset, amount, bal, usd, t0, t1, txs in con.execute(
        "SELECT address, asset, amount, balance_before, usd, first_drain, last_drain, tx_hashes "
        "FROM incident_victims WHERE incident_id = ? ORDER BY address, asset",
        [iid],
    ).fetchall():
        v = victims.setdefault(addr, Victim(addr, [], None, t0, t1))
        v.assets.append({"asset": asset, "symbol": assets.get(asset), "amount": int(amount),
                         "balance_before": int(bal), "usd": usd, "tx_hashes": list(txs)})
        if usd is not None:
            v.usd = (v.usd or 0.0) + usd
        v.first_drain, v.last_drain = min(v.first_drain, t0), max(v.last_drain, t1)
    attackers = [
        {"address": a, "role": r, "first_seen": fs, "victims": n, "tx_hashes": list(txs)}
        for a, r, fs, n, txs in con.execute(
            "SELECT address, role, first_seen, victims, tx_hashes FROM incident_attackers WHERE incident_id = ? "
            "ORDER BY role DESC, address",
            [iid],
        ).fetchall()
    ]
    losses = [
        {"asset": a, "symbol": s, "amount": int(x), "usd": u}
        for a, s, x, u in con.execute(
            "SELECT asset, symbol, amount, usd FROM incident_losses WHERE incident_id = ? "
            "ORDER BY usd DESC NULLS LAST, asset",
            [iid],
        ).fetchall()
    ]
    detected = con.execute("SELECT detected_at FROM incidents WHERE incident_id = ?", [iid]).fetchone()[0]
    return Incident(
        incident_id=iid, chain=chain, window_start=start, window_end=end,
        stale=bool(staleness(con, "incident", iid, since=detected)),
        victims=sorted(victims.values(), key=lambda v: (-(v.usd or 0.0), v.address)),
        attackers=attackers, losses=losses, loss_usd=loss_usd, consolidated=consolidated,
        parameters=json.loads(params), kind=kind,
    )


_COLS = "incident_id, chain, kind, window_start, window_end, loss_usd, consolidated, parameters"


def list_incidents(
    con: duckdb.DuckDBPyConnection, *, chain: str | None = None, since: datetime | None = None
) -> list[Incident]:
    """Stored incidents, ranked by USD loss (then victims, then time)."""
    rows = con.execute(
        f"SELECT {_COLS} FROM incidents WHERE (? IS NULL OR chain = ?) AND window_end >= ? "
        "ORDER BY loss_usd DESC NULLS LAST, victim_count DESC, window_start, incident_id",
        [chain, chain, since or datetime(1970, 1, 1)],
    ).fetchall()
    return [_load(con, r) for r in rows]


def get_incident(con: duckdb.DuckDBPyConnection, incident_id: str) -> Incident:
    row = con.execute(f"SELECT {_COLS} FROM incidents WHERE incident_id = ?", [incident_id]).fetchall()
    if not row:
        raise NotFoundError(f"no incident {incident_id!r} (run `chainsleuth incidents` first)")
    return _load(con, row[0])
