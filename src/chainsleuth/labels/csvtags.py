"""Plain CSV tags: a header with at least ``address`` and ``label``; optional ``chain``, ``category``,
``actor``, ``source``, ``confidence`` (0..1), ``tagged_on`` (YYYY-MM-DD), ``added_by`` and ``note``.

An empty ``chain`` means the tag applies on every chain. Category is a chainsleuth category or a GraphSense
one (mapped). Any bad row fails the whole file with its line number (header = line 1).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from chainsleuth.errors import AddressError, InputError
from chainsleuth.labels.tagstore import TagRecord, normalize_any, normalize_for_chain
from chainsleuth.labels.taxonomy import GRAPHSENSE_CATEGORIES
from chainsleuth.model import Category, chain_info

REQUIRED = ("address", "label")
OPTIONAL = ("chain", "category", "actor", "source", "confidence", "tagged_on", "added_by", "note")
_CATEGORIES = {c.value for c in Category}


def read_csv_tags(path: str | Path) -> list[TagRecord]:
    path = Path(path)
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(file, None, f"cannot read: {exc}") from None
    try:  # decoded whole first: a streaming decode fails while reading the header, blaming line 1
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(file, raw[: exc.start].count(b"\n") + 1, f"not UTF-8 text: {exc}") from None
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise InputError(file, 1, f"header lacks column(s) {', '.join(missing)}; has {', '.join(header)}")
        unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
        if unknown:
            raise InputError(file, 1, f"unknown column(s) {', '.join(unknown)}")
        reader.fieldnames = header
        records = []
        try:
            for row in reader:
                records.append(_row(file, reader.line_num, row, path.name))
        except UnicodeDecodeError as exc:
            raise InputError(file, reader.line_num + 1, f"not UTF-8 text: {exc}") from None
        except csv.Error as exc:
            raise InputError(file, reader.line_num, f"malformed CSV: {exc}") from None
    return records


def _row(file: str, line: int, row: dict, name: str) -> TagRecord:
    def get(k: str) -> str | None:
        v = row.get(k)
        return v.strip() if isinstance(v, str) and v.strip() else None

    address, label = get("address"), get("label")
    if address is None or label is None:
        raise InputError(file, line, "address and label must not be empty")
    chain = get("chain")
    if chain is not None:
        try:
            chain_info(chain)
        except ValueError as exc:
            raise InputError(file, line, str(exc)) from None
    try:
        addr = normalize_for_chain(address, chain) if chain else normalize_any(address)
    except AddressError as exc:
        raise InputError(file, line, str(exc)) from None
    category = get("category")
    if category is not None:
        category = category.lower()
        if category not in _CATEGORIES:
            if category not in GRAPHSENSE_CATEGORIES:
                raise InputError(file, line, f"unknown category {category!r}")
            category = GRAPHSENSE_CATEGORIES[category].value
    conf = get("confidence")
    confidence = None
    if conf is not None:
        try:
            confidence = float(conf)
        except ValueError:
            raise InputError(file, line, f"confidence {conf!r} is not a number") from None
        if not 0.0 <= confidence <= 1.0:
            raise InputError(file, line, f"confidence {conf} outside 0..1")
    day = get("tagged_on")
    tagged_on = None
    if day is not None:
        try:
            tagged_on = dt.date.fromisoformat(day)
        except ValueError:
            raise InputError(file, line, f"tagged_on {day!r} is not YYYY-MM-DD") from None
    return TagRecord(
        chain=chain, address=addr, label=label, category=category, actor=get("actor"),
        source=get("source") or f"csv:{name}", confidence=confidence, tagged_on=tagged_on,
        added_by=get("added_by") or "csv import", note=get("note"),
    )
