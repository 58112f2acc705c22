"""The tag store: write a dataset of tags atomically (replacing its previous version), add one tag by hand,
read the tags of an address.

A *dataset* is the import unit (one TagPack file, one OFAC asset list, one CSV, hand-added tags). Replacing
by dataset makes every import idempotent: loading the same file twice leaves each tag stored once.
"""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass, fields
from datetime import date

import duckdb
import pyarrow as pa

from chainsleuth.errors import ChainsleuthError
from chainsleuth.model import KNOWN_CHAINS, Category, normalize_address
from chainsleuth.store import transaction

_EVM_LIKE = re.compile(r"0x[0-9a-fA-F]{40}")


@dataclass(frozen=True)
class TagRecord:
    """One tag as stored in ``tags`` (provenance included)."""

    chain: str | None
    address: str
    label: str
    category: str | None
    actor: str | None
    source: str
    confidence: float | None
    tagged_on: date | None
    added_by: str
    note: str | None = None


_TAG_SCHEMA = pa.schema(
    [
        ("chain", pa.string()), ("address", pa.string()), ("label", pa.string()), ("category", pa.string()),
        ("actor", pa.string()), ("source", pa.string()), ("confidence", pa.float64()),
        ("tagged_on", pa.date32()), ("added_by", pa.string()), ("note", pa.string()),
    ]
)


def _arrow(records: list[TagRecord]) -> pa.Table:
    cols = {f.name: [getattr(r, f.name) for r in records] for f in fields(TagRecord)}
    return pa.table(cols, schema=_TAG_SCHEMA)


def replace_dataset(con: duckdb.DuckDBPyConnection, dataset: str, records: list[TagRecord]) -> dict:
    """Store ``records`` as ``dataset``, replacing whatever that dataset held before (one transaction).

    Identical tags inside the dataset (same chain, address, label, category, source) are stored once.
    Returns {dataset, tags, replaced}.
    """
    con.register("_incoming_tags", _arrow(records))
    try:
        return _replace(con, dataset)
    finally:
        con.unregister("_incoming_tags")


def _replace(con: duckdb.DuckDBPyConnection, dataset: str) -> dict:
    with transaction(con):
        replaced = con.execute("SELECT count(*) FROM tags WHERE dataset = ?", [dataset]).fetchall()[0][0]
        con.execute("DELETE FROM tags WHERE dataset = ?", [dataset])
        con.execute(
            """
            INSERT INTO tags (chain, address, label, category, actor, source, confidence, tagged_on, added_by,
                              note, dataset)
            SELECT chain, address, label, category, any_value(actor), source, max(confidence), max(tagged_on),
                   any_value(added_by), any_value(note), ?
            FROM _incoming_tags
            GROUP BY chain, address, label, category, source
            """,
            [dataset],
        )
        stored = con.execute("SELECT count(*) FROM tags WHERE dataset = ?", [dataset]).fetchall()[0][0]
    return {"dataset": dataset, "tags": stored, "replaced": replaced}


def add_tag(
    con: duckdb.DuckDBPyConnection,
    address: str,
    label: str,
    *,
    chain: str | None = None,
    category: str | None = None,
    actor: str | None = None,
    source: str = "manual",
    confidence: float = 1.0,
    note: str | None = None,
    added_by: str | None = None,
) -> TagRecord:
    """Add (or update) one hand-made tag. The same (chain, address, label, source) is stored once."""
    if category is not None and category not in {c.value for c in Category}:
        raise ChainsleuthError(
            f"unknown category {category!r}; one of: {', '.join(c.value for c in Category)}"
        )
    if not 0.0 <= confidence <= 1.0:
        raise ChainsleuthError(f"confidence must be within 0..1, got {confidence}")
    if not label.strip():
        raise ChainsleuthError("a tag needs a non-empty label")
    addr = normalize_for_chain(address, chain) if chain else normalize_any(address)
    record = TagRecord(
        chain=chain, address=addr, label=label.strip(), category=category, actor=actor, source=source,
        confidence=confidence, tagged_on=date.today(), added_by=added_by or _whoami(), note=note,
    )
    with transaction(con):
        con.execute(
            "DELETE FROM tags WHERE dataset = 'manual' AND chain IS NOT DISTINCT FROM ? AND address = ? "
            "AND label = ? AND source = ?",
            [chain, addr, record.label, source],
        )
        con.execute(
            "INSERT INTO tags (chain, address, label, category, actor, source, confidence, tagged_on, added_by, "
            "note, dataset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'manual')",
            [chain, addr, record.label, category, actor, source, confidence, record.tagged_on, record.added_by,
             note],
        )
    return record


def normalize_for_chain(address: str, chain: str, *, strict_checksum: bool = True) -> str:
    """Storage form of a tagged address. Known chains use :func:`normalize_address`; on chains chainsleuth
    does not ingest (Monero, Ripple, ...) 0x-addresses are lower-cased and other strings kept as written."""
    if chain in KNOWN_CHAINS or _EVM_LIKE.fullmatch(address.strip()):
        return normalize_address(address, chain, strict_checksum=strict_checksum)
    return normalize_address(address, "bitcoin")


def normalize_any(address: str) -> str:
    s = address.strip()
    return normalize_address(s, "ethereum") if s.startswith("0x") else normalize_address(s, "bitcoin")


def _whoami() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def tags_of(con: duckdb.DuckDBPyConnection, address: str, chain: str | None = None) -> list[dict]:
    """Every stored tag of ``address`` (on ``chain``, plus chain-less tags), with full provenance."""
    addr = normalize_any(address) if chain is None else normalize_for_chain(address, chain)
    cur = con.execute(
        """
        SELECT chain, address, label, category, actor, source, confidence, tagged_on, added_by, added_at, note,
               dataset
        FROM tags WHERE address = ? AND (? IS NULL OR chain = ? OR chain IS NULL)
        ORDER BY confidence DESC NULLS LAST, chain, label
        """,
        [addr, chain, chain],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def datasets(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Tag datasets in the store: name, tag count, chains, newest addition."""
    cur = con.execute(
        "SELECT dataset, count(*) AS tags, string_agg(DISTINCT coalesce(chain, '*'), ',') AS chains, "
        "max(added_at) AS added_at FROM tags GROUP BY dataset ORDER BY dataset"
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
