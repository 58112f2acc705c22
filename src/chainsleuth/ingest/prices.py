"""Daily USD prices from CSV (``symbol,day,usd``; aliases ``asset``, ``date``, ``price``/``price_usd``).

Prices only feed USD estimates; exact amounts never depend on them. Re-importing a (symbol, day) replaces it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from chainsleuth import store
from chainsleuth.errors import ChainsleuthError, InputError
from chainsleuth.ingest.staging import Check, header_of, locate_line, sql_str, stage

ALIASES = {
    "symbol": ("symbol", "asset", "ticker", "currency"),
    "day": ("day", "date", "timestamp"),
    "usd": ("usd", "price", "price_usd", "close"),
}


def load_prices(con: duckdb.DuckDBPyConnection, file: str | Path, source: str | None = None) -> dict:
    """Load a price CSV in one transaction; a bad row (file, line, reason) leaves the table unchanged."""
    path = Path(file)
    if not path.is_file():
        raise ChainsleuthError(f"no such file: {path}")
    header = header_of(path)
    lower = {h.lower(): h for h in header}
    mapping = {}
    for ours, names in ALIASES.items():
        found = next((lower[n] for n in names if n in lower), None)
        if found is None:
            raise InputError(str(path), 1, f"missing a {ours!r} column (one of {', '.join(names)}); header has {', '.join(header)}")
        mapping[ours] = found
    stage(con, "stg_prices", path, list(mapping.values()), [], [Check(mapping["symbol"], "required", True)])
    sym, day, usd = (f'"{mapping[k]}"' for k in ("symbol", "day", "usd"))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE load_prices AS
        SELECT upper(trim({sym})) AS symbol, TRY_CAST(left({day}, 10) AS DATE) AS day, TRY_CAST({usd} AS DOUBLE) AS usd,
               {day} AS day_text, {usd} AS usd_text FROM stg_prices"""
    )
    bad = con.execute(
        "SELECT day_text, usd_text FROM load_prices WHERE day IS NULL OR usd IS NULL OR NOT isfinite(usd) OR usd < 0 LIMIT 1"
    ).fetchone()
    if bad:
        day_ok = f"TRY_CAST(left(\"{mapping['day']}\", 10) AS DATE) IS NOT NULL"
        usd_ok = f"TRY_CAST(\"{mapping['usd']}\" AS DOUBLE) >= 0 AND isfinite(TRY_CAST(\"{mapping['usd']}\" AS DOUBLE))"
        line = locate_line(con, path, header, "csv", f"({day_ok}) AND ({usd_ok})")
        day_bad = con.execute("SELECT TRY_CAST(left(?, 10) AS DATE) IS NULL", [bad[0]]).fetchone()[0]
        reason = f"day must be a date (YYYY-MM-DD); got {bad[0]!r}" if day_bad else f"usd must be a non-negative number; got {bad[1]!r}"
        raise InputError(str(path), line, reason)
    dup = con.execute(
        "SELECT symbol, day FROM load_prices GROUP BY ALL HAVING count(DISTINCT usd) > 1 LIMIT 1").fetchone()
    if dup:
        raise InputError(str(path), None, f"two different prices for {dup[0]} on {dup[1]}")
    with store.transaction(con):
        con.execute(
            f"""INSERT INTO prices (symbol, day, usd, source)
            SELECT DISTINCT symbol, day, usd, {sql_str(source or str(path))} FROM load_prices
            ON CONFLICT (symbol, day) DO UPDATE SET usd = excluded.usd, source = excluded.source"""
        )
        stats = con.execute("SELECT count(*), count(DISTINCT symbol), min(day), max(day) FROM load_prices").fetchone()
        store.record_load(con, None, str(path), "prices", stats[0])
    con.execute("DROP TABLE stg_prices")
    con.execute("DROP TABLE load_prices")
    return {"file": str(path), "rows": stats[0], "symbols": stats[1], "first_day": stats[2], "last_day": stats[3]}

