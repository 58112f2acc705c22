"""Following watched funds as new blocks are ingested, and raising alerts when they move.

``check`` looks at the flows (account transfers or UTXO spends) in blocks newer than the last block checked
for each chain (``watch_state``), sent by active watch-list addresses. Each movement becomes an alert whose
severity says how actionable it is: ``critical`` when the recipient is an exchange deposit address, hot
wallet or OTC desk (the funds can still be frozen: act now), ``high`` for mixers, bridges and sanctioned
entities, ``medium`` otherwise. With ``propagate`` the unlabelled recipients are watched too (source
``propagated``), from the block that tainted them, so a peel chain is followed hop by hop inside one run.
Alerts, propagated entries and the new state are written in one transaction: a crash never half-applies.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

import duckdb

from chainsleuth import store
from chainsleuth.model import Category
from chainsleuth.report.units import asset_units, format_amount
from chainsleuth.screen.flows import flows_sql
from chainsleuth.screen.labels import EXCHANGE_CATEGORIES, load_labels
from chainsleuth.watch.webhook import deliver

log = logging.getLogger("chainsleuth.watch")

HIGH_CATEGORIES = frozenset({Category.MIXER, Category.COINJOIN, Category.BRIDGE, Category.SANCTIONED})
MAX_PROPAGATION_ROUNDS = 20


def _in(cats: frozenset[str]) -> str:
    return ", ".join(repr(str(c)) for c in sorted(cats))


def check(
    con: duckdb.DuckDBPyConnection, *, chain: str | None = None, propagate: bool = False
) -> list[dict[str, Any]]:
    """Raise (store and return) alerts for watched funds that moved in blocks not yet checked."""
    alerts: list[dict[str, Any]] = []
    chains = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT w.chain FROM watchlist w JOIN chains c USING (chain) "
            "WHERE w.active AND (? IS NULL OR w.chain = ?) ORDER BY 1",
            [chain, chain],
        ).fetchall()
    ]
    for ch in chains:
        alerts.extend(_check_chain(con, ch, propagate))
    return alerts


def _check_chain(con: duckdb.DuckDBPyConnection, chain: str, propagate: bool) -> list[dict[str, Any]]:
    model, native = con.execute("SELECT model, native_asset FROM chains WHERE chain = ?", [chain]).fetchone()
    head = con.execute(
        "SELECT greatest((SELECT max(number) FROM blocks WHERE chain = $c), "
        "(SELECT max(block_number) FROM transfers WHERE chain = $c), "
        "(SELECT max(block_number) FROM utxo_outputs WHERE chain = $c))",
        {"c": chain},
    ).fetchone()[0]
    state = con.execute("SELECT last_block FROM watch_state WHERE chain = ?", [chain]).fetchone()
    last = state[0] if state else -1
    if head is None or head <= last:
        return []
    flows = flows_sql(model, "native")
    p = {"chain": chain, "native": native, "as_of": None, "lo": last, "hi": head}
    new_ids: list[int] = []
    with store.transaction(con):
        load_labels(con, chain, "_watch_labels")
        for _ in range(MAX_PROPAGATION_ROUNDS):
            rows = con.execute(
                f"""
                INSERT INTO watch_alerts (alert_id, chain, block_number, block_time, tx_hash, from_address,
                    to_address, asset, amount, severity, reason, to_label, to_category, watch_label, case_id)
                WITH f AS ({flows})
                SELECT nextval('watch_alert_ids'), $chain, f.block_number, f.block_time, f.tx_hash, f.src, f.dst,
                       f.asset, f.amount,
                       CASE WHEN l.category IN ({_in(EXCHANGE_CATEGORIES)}) THEN 'critical'
                            WHEN l.category IN ({_in(HIGH_CATEGORIES)}) THEN 'high' ELSE 'medium' END,
                       CASE WHEN l.category IN ({_in(EXCHANGE_CATEGORIES)})
                                THEN 'watched funds reached ' || l.category || ' ' || l.label || ': request a freeze'
                            WHEN l.category IS NOT NULL THEN 'watched funds moved to ' || l.category || ' ' || l.label
                            ELSE 'watched funds moved to an unlabelled address' END,
                       l.label, l.category, w.label, w.case_id
                FROM f JOIN watchlist w ON w.chain = $chain AND w.address = f.src AND w.active
                LEFT JOIN _watch_labels l ON l.address = f.dst
                WHERE f.block_number > $lo AND f.block_number <= $hi
                  AND f.block_number >= coalesce(w.since_block, 0)
                  AND NOT EXISTS (SELECT 1 FROM watch_alerts a WHERE a.chain = $chain AND a.tx_hash = f.tx_hash
                                  AND a.from_address = f.src AND a.to_address IS NOT DISTINCT FROM f.dst
                                  AND a.asset = f.asset)
                ORDER BY f.block_number, f.tx_hash, f.src, f.dst
                RETURNING alert_id
                """,
                p,
            ).fetchall()
            new_ids.extend(r[0] for r in rows)
            if not (propagate and rows):
                break
            added = con.execute(
                f"""
                INSERT INTO watchlist (chain, address, label, case_id, source, parent_address, since_block, added_by)
                SELECT $chain, a.to_address, any_value(CASE WHEN a.watch_label LIKE 'tainted by %' THEN a.watch_label
                                 ELSE 'tainted by ' || coalesce(a.watch_label, a.from_address) END),
                       any_value(a.case_id), 'propagated', any_value(a.from_address), min(a.block_number),
                       'watch-propagation'
                FROM watch_alerts a
                WHERE a.alert_id IN (SELECT unnest($ids::BIGINT[])) AND a.to_address IS NOT NULL
                  AND coalesce(a.to_category, '') NOT IN ({_in(EXCHANGE_CATEGORIES | HIGH_CATEGORIES)})
                GROUP BY a.to_address
                ON CONFLICT DO NOTHING
                RETURNING address
                """,
                {"chain": chain, "ids": [r[0] for r in rows]},
            ).fetchall()
            if not added:
                break
        con.execute(
            "INSERT INTO watch_state (chain, last_block) VALUES (?, ?) ON CONFLICT (chain) DO UPDATE "
            "SET last_block = excluded.last_block, updated_at = now()",
            [chain, head],
        )
    return alerts_by_id(con, new_ids)


def alerts_by_id(con: duckdb.DuckDBPyConnection, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    return _alert_rows(con, "WHERE alert_id IN (SELECT unnest(?::BIGINT[]))", [ids])


def list_alerts(
    con: duckdb.DuckDBPyConnection, *, chain: str | None = None, severity: str | None = None,
    limit: int = 100, offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Stored alerts, newest first, and the total matching count."""
    where = "WHERE (? IS NULL OR chain = ?) AND (? IS NULL OR severity = ?)"
    params = [chain, chain, severity, severity]
    total = con.execute(f"SELECT count(*) FROM watch_alerts {where}", params).fetchone()[0]
    rows = _alert_rows(con, where + " ORDER BY alert_id DESC LIMIT ? OFFSET ?", [*params, limit, offset])
    return rows, total


def _alert_rows(con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> list[dict[str, Any]]:
    res = con.execute(
        "SELECT alert_id, chain, block_number, block_time, tx_hash, from_address, to_address, asset, "
        f"amount::VARCHAR AS amount, severity, reason, to_label, to_category, watch_label, case_id, raised_at, "
        f"webhook_status FROM watch_alerts {where}",
        params,
    )
    cols = [d[0] for d in res.description]
    rows = res.fetchall()
    units = asset_units(con)
    out = []
    for r in rows:
        a = dict(zip(cols, r, strict=True))
        symbol, decimals = units.get((a["chain"], a["asset"]), (a["asset"], None))
        a["amount_display"] = format_amount(a["amount"], decimals, symbol)
        a["alert_id"] = int(a["alert_id"])
        out.append(a)
    if "ORDER BY" not in where:
        out.sort(key=lambda a: (a["block_number"], a["tx_hash"], a["from_address"], a["to_address"] or ""))
    return out


def alert_line(a: dict[str, Any]) -> str:
    """The one-line log form of an alert."""
    to = a["to_address"] or "?"
    if a["to_label"]:
        to += f" ({a['to_label']}, {a['to_category']})"
    return (
        f"ALERT {a['severity'].upper()} {a['chain']} block {a['block_number']}: {a['amount_display']} "
        f"from {a['from_address']}{' [' + a['watch_label'] + ']' if a['watch_label'] else ''} to {to} "
        f"tx {a['tx_hash']} - {a['reason']}"
    )


def _jsonable(a: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in a.items()}


def run(
    db: str | None,
    *,
    once: bool = False,
    interval: float = 15.0,
    webhook: str | None = None,
    propagate: bool = False,
    chain: str | None = None,
    stream: TextIO | None = None,
    max_rounds: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Check, emit, sleep, repeat. Returns the number of alerts raised.

    The database is opened only for each check, so an ingester can write between checks (DuckDB allows one
    writing process). Each alert is a log line (logger ``chainsleuth.watch``), a JSON line on ``stream``
    (stdout), and, with ``webhook``, a POST of the alert JSON whose outcome is stored with the alert.
    """
    stream = stream or sys.stdout
    raised, rounds = 0, 0
    while True:
        con = store.connect(db)
        try:
            alerts = check(con, chain=chain, propagate=propagate)
            for a in alerts:
                log.warning(alert_line(a))
                if webhook:
                    a["webhook_status"] = deliver(webhook, _jsonable(a))
                    con.execute(
                        "UPDATE watch_alerts SET webhook_status = ? WHERE alert_id = ?",
                        [a["webhook_status"], a["alert_id"]],
                    )
                stream.write(json.dumps(_jsonable(a)) + "\n")
                stream.flush()
        finally:
            con.close()
        raised += len(alerts)
        rounds += 1
        if once or (max_rounds is not None and rounds >= max_rounds):
            return raised
        sleep(interval)
