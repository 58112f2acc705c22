"""Human-readable amounts: exact base-unit integers shown in whole units without float rounding."""

from __future__ import annotations

from decimal import Decimal, localcontext

import duckdb


def format_amount(amount: int | str | None, decimals: int | None, symbol: str | None = None, places: int = 6) -> str:
    """``1234500000000000000, 18, 'ETH'`` -> ``'1.2345 ETH'`` (exact up to ``places`` decimals, trailing 0s cut)."""
    if amount is None or amount == "":
        return ""
    value = int(amount)
    with localcontext() as ctx:
        ctx.prec = 200  # the default 28 digits would round uint256-sized amounts
        d = Decimal(value).scaleb(-(decimals if decimals is not None else 0))
        text = f"{d:,.{places}f}".rstrip("0").rstrip(".") if decimals else f"{value:,}"
    return f"{text} {symbol}" if symbol else text


def asset_units(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[str, int | None]]:
    """(chain, asset) -> (symbol, decimals) for every known asset."""
    return {
        (c, a): (s or a, d)
        for c, a, s, d in con.execute("SELECT chain, asset, symbol, decimals FROM assets").fetchall()
    }
