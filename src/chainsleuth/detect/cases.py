"""Cases declared by hand: an investigator names the victim or attacker addresses of a publicly reported
theft, and from then on the case is traced and attributed like a detected incident."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from chainsleuth.errors import AddressError, ChainsleuthError, InputError, NotFoundError
from chainsleuth.model import normalize_address
from chainsleuth.store import transaction
from chainsleuth.store.ledger import ensure_chain

ROLES = ("victim", "attacker")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


@dataclass
class Case:
    name: str
    chain: str
    since: datetime | None
    sources: list[dict] = field(default_factory=list)  # {address, role}
    source_file: str | None = None
    note: str | None = None
    created_at: datetime | None = None

    def to_dict(self) -> dict:
        return {
            "name": self.name, "chain": self.chain, "since": self.since, "source_file": self.source_file,
            "note": self.note, "created_at": self.created_at, "sources": self.sources,
        }


def read_sources(path: str | Path, chain: str) -> list[dict]:
    """Addresses from ``path``: one per line (``#`` comments allowed), or a CSV with an ``address`` column
    and an optional ``role`` column (victim | attacker). Errors name the file and line."""
    p = Path(path)
    if not p.is_file():
        raise InputError(str(p), None, "no such file")
    text = p.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    sources: dict[str, dict] = {}
    first = lines[0].strip().lower() if lines else ""
    if "address" in [c.strip() for c in first.split(",")]:
        reader = csv.DictReader(lines)
        header = [h.strip().lower() for h in reader.fieldnames or []]
        reader.fieldnames = header
        rows = ((i + 2, r.get("address") or "", (r.get("role") or "").strip().lower()) for i, r in enumerate(reader))
    else:
        rows = ((i + 1, line.split(",")[0], "") for i, line in enumerate(lines))
    for lineno, raw, role in rows:
        raw = raw.split("#")[0].strip()
        if not raw:
            continue
        if role and role not in ROLES:
            raise InputError(str(p), lineno, f"role must be one of {', '.join(ROLES)}, got {role!r}")
        try:
            addr = normalize_address(raw, chain)
        except AddressError as exc:
            raise InputError(str(p), lineno, str(exc)) from None
        sources[addr] = {"address": addr, "role": role or None}
    if not sources:
        raise InputError(str(p), None, "no addresses in file")
    return list(sources.values())


def create_case(
    con: duckdb.DuckDBPyConnection,
    name: str,
    sources_file: str | Path,
    *,
    chain: str = "ethereum",
    since: datetime | None = None,
    note: str | None = None,
    replace: bool = False,
) -> Case:
    """Declare case ``name`` with the addresses in ``sources_file`` (one transaction)."""
    if not _NAME_RE.fullmatch(name):
        raise ChainsleuthError(f"invalid case name {name!r}: letters, digits, '_', '-', '.' (max 64)")
    if name.upper().startswith("INC-"):
        raise ChainsleuthError("case names may not start with INC- (reserved for detected incidents)")
    sources = read_sources(sources_file, chain)
    with transaction(con):
        exists = con.execute("SELECT count(*) FROM cases WHERE name = ?", [name]).fetchall()[0][0]
        if exists and not replace:
            raise ChainsleuthError(f"case {name!r} already exists (use --replace to redefine it)")
        con.execute("DELETE FROM case_sources WHERE name = ?", [name])
        con.execute("DELETE FROM cases WHERE name = ?", [name])
        ensure_chain(con, chain)
        con.execute(
            "INSERT INTO cases (name, chain, since, source_file, note) VALUES (?, ?, ?, ?, ?)",
            [name, chain, since, str(sources_file), note],
        )
        con.executemany(
            "INSERT INTO case_sources VALUES (?, ?, ?, ?)",
            [[name, chain, s["address"], s["role"]] for s in sources],
        )
    return get_case(con, name)


def get_case(con: duckdb.DuckDBPyConnection, name: str) -> Case:
    row = con.execute(
        "SELECT name, chain, since, source_file, note, created_at FROM cases WHERE name = ?", [name]
    ).fetchall()
    row = row[0] if row else None
    if row is None:
        raise NotFoundError(f"no case named {name!r} (declare it with `chainsleuth case create`)")
    sources = [
        {"address": a, "role": r}
        for a, r in con.execute(
            "SELECT address, role FROM case_sources WHERE name = ? ORDER BY address", [name]
        ).fetchall()
    ]
    return Case(row[0], row[1], row[2], sources, row[3], row[4], row[5])


def list_cases(con: duckdb.DuckDBPyConnection) -> list[Case]:
    names = [r[0] for r in con.execute("SELECT name FROM cases ORDER BY name").fetchall()]
    return [get_case(con, n) for n in names]


def delete_case(con: duckdb.DuckDBPyConnection, name: str) -> None:
    get_case(con, name)
    with transaction(con):
        con.execute("DELETE FROM case_sources WHERE name = ?", [name])
        con.execute("DELETE FROM cases WHERE name = ?", [name])
