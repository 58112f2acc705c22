"""Batch screening from a CSV file (header ``address`` and optionally ``chain``; other columns are ignored)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import duckdb

from chainsleuth.errors import AddressError, InputError
from chainsleuth.model import normalize_address
from chainsleuth.screen.exposure import ScreenResult, screen

MAX_BATCH = 100_000


def read_address_csv(path: str | Path, default_chain: str | None = None) -> list[tuple[str, str]]:
    """(chain, address) pairs from ``path``; every bad row is an InputError naming its line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), None, "no such file")
    pairs: list[tuple[str, str]] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields = [f.strip().lower() for f in (reader.fieldnames or [])]
        if "address" not in fields:
            raise InputError(str(path), 1, f"header needs an 'address' column (found: {', '.join(fields) or 'none'})")
        reader.fieldnames = fields
        for line, row in enumerate(reader, start=2):
            raw = (row.get("address") or "").strip()
            if not raw:
                continue
            chain = (row.get("chain") or "").strip().lower() or default_chain
            if not chain:
                raise InputError(str(path), line, "no chain: add a 'chain' column or pass --chain")
            try:
                pairs.append((chain, normalize_address(raw, chain)))
            except AddressError as exc:
                raise InputError(str(path), line, str(exc)) from None
            if len(pairs) > MAX_BATCH:
                raise InputError(str(path), line, f"more than {MAX_BATCH} addresses: split the file")
    if not pairs:
        raise InputError(str(path), None, "no addresses in the file")
    return pairs


def screen_csv(
    con: duckdb.DuckDBPyConnection, path: str | Path, default_chain: str | None = None, **options: Any
) -> list[ScreenResult]:
    """Screen every address of a CSV file, one set-based pass per chain; results in file order."""
    pairs = read_address_csv(path, default_chain)
    by_chain: dict[str, list[str]] = {}
    for chain, address in pairs:
        by_chain.setdefault(chain, []).append(address)
    found: dict[tuple[str, str], ScreenResult] = {}
    for chain, addresses in by_chain.items():
        for r in screen(con, addresses, chain, **options):
            found[(chain, r.address)] = r
    return [found[p] for p in dict.fromkeys(pairs)]
