"""USD per base unit for (asset, day) pairs: the latest daily price on or before the day (else the first
after it), divided by 10^decimals. USD estimates only; exact amounts never depend on them."""

from __future__ import annotations

import duckdb
import numpy as np

#: Pseudo-asset of USD-only case files: its price is 1 by definition.
USD_SYMBOLS = frozenset({"USD"})


class Pricer:
    def __init__(self, con: duckdb.DuckDBPyConnection, chain: str, assets: list[str]):
        """``assets``: asset names in index order (asset index i -> assets[i])."""
        self.assets = assets
        meta = dict(
            ((a, (s, d)) for a, s, d in con.execute(
                "SELECT asset, symbol, decimals FROM assets WHERE chain = ?", [chain]).fetchall())
        )
        self.symbol = [(meta.get(a, (None, None))[0] or (a if not a.startswith("0x") else None)) for a in assets]
        self.decimals = [meta.get(a, (None, None))[1] for a in assets]
        syms = sorted({s.upper() for s in self.symbol if s})
        self._days: dict[str, np.ndarray] = {}
        self._usd: dict[str, np.ndarray] = {}
        if syms:
            rows = con.execute(
                "SELECT upper(symbol), (day - DATE '1970-01-01')::BIGINT, usd FROM prices "
                "WHERE upper(symbol) IN (SELECT unnest(?::VARCHAR[])) ORDER BY 1, 2",
                [syms],
            ).fetchall()
            by: dict[str, list[tuple[int, float]]] = {}
            for s, d, u in rows:
                by.setdefault(s, []).append((d, u))
            for s, pairs in by.items():
                self._days[s] = np.array([p[0] for p in pairs], dtype=np.int64)
                self._usd[s] = np.array([p[1] for p in pairs], dtype=np.float64)

    def unit_usd(self, asset_idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """USD per base unit per element (NaN where the asset has no decimals or no price at all)."""
        out = np.full(asset_idx.size, np.nan)
        for a in np.unique(asset_idx):
            sym = self.symbol[a].upper() if self.symbol[a] else None
            dec = self.decimals[a]
            if sym is None or dec is None:
                continue
            sel = asset_idx == a
            if sym in self._days:
                days, usd = self._days[sym], self._usd[sym]
                pos = np.searchsorted(days, day[sel], side="right") - 1
                out[sel] = usd[np.maximum(pos, 0)] / 10.0 ** dec
            elif sym in USD_SYMBOLS:
                out[sel] = 1.0 / 10.0 ** dec
        return out

    def usd(self, asset: int, amount: int, day: int) -> float | None:
        u = self.unit_usd(np.array([asset]), np.array([day]))[0]
        return None if np.isnan(u) else float(amount) * float(u)
