"""Staging of export files into DuckDB temp tables, with validation that names the file, line and reason.

Files are read by DuckDB's own CSV / JSON readers (never a Python row loop). Every column is read as text so
that nothing is silently coerced: values are then checked set-based (hex shape, unsigned integer range up to
2^256-1) and cast. Checks run over the whole file at once; only on failure is the offending line located,
by re-reading that one file in order.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from chainsleuth.errors import InputError

UINT256_MAX_TEXT = str(2**256 - 1)

HASH_RE = "0x[0-9a-fA-F]{64}"
ADDRESS_RE = "0x[0-9a-fA-F]{40}"
UINT_RE = "[0-9]{1,78}"


def sql_str(value: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Check:
    """``column`` must satisfy ``predicate`` (SQL over the text column ``c``) wherever it is not NULL."""

    column: str
    kind: str  # 'hash' | 'txid' | 'address' | 'uint' | 'int' | 'required' | 'bool01'
    required: bool = False

    def predicate(self) -> str:
        c = f'"{self.column}"'
        pred = {
            "hash": f"(length({c}) = 66 AND regexp_full_match({c}, '{HASH_RE}'))",
            "address": f"(length({c}) = 42 AND regexp_full_match({c}, '{ADDRESS_RE}'))",
            "uint": f"(regexp_full_match({c}, '{UINT_RE}') AND (length({c}) < 78 OR {c} <= '{UINT256_MAX_TEXT}'))",
            "int": f"regexp_full_match({c}, '-?[0-9]{{1,18}}')",
            "txid": f"(length({c}) = 64 AND regexp_full_match({c}, '[0-9a-fA-F]{{64}}'))",
            "bool01": f"{c} IN ('0', '1', 'true', 'false', 'True', 'False')",
            "required": "TRUE",
        }[self.kind]
        if self.required:
            return f"({c} IS NOT NULL AND {pred})"
        return f"({c} IS NULL OR {pred})"

    def reason(self) -> str:
        what = {
            "hash": "a 0x-prefixed 32-byte hex hash",
            "address": "a 0x-prefixed 20-byte hex address",
            "uint": "an unsigned integer no larger than 2^256-1",
            "int": "an integer",
            "txid": "64 hex digits",
            "bool01": "0 or 1",
            "required": "present",
        }[self.kind]
        return f"column {self.column!r} must be {what}" + (" (required)" if self.required else "")


def header_of(path: Path) -> list[str]:
    """Column names of a CSV file's header line."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            row = next(csv.reader(fh), None)
    except UnicodeDecodeError as exc:
        raise InputError(str(path), 1, f"not UTF-8 text ({exc.reason})") from None
    if not row:
        raise InputError(str(path), 1, "empty file: expected a CSV header line")
    return [c.strip() for c in row]


def _reader_sql(path: Path, columns: Sequence[str], fmt: str) -> str:
    cols = "{" + ", ".join(f"{sql_str(c)}: 'VARCHAR'" for c in columns) + "}"
    if fmt == "csv":
        return (
            f"read_csv({sql_str(str(path))}, delim=',', quote='\"', escape='\"', header=true, columns={cols}, "
            "strict_mode=true, auto_detect=false, nullstr='')"
        )
    return f"read_json({sql_str(str(path))}, format='newline_delimited', columns={cols}, maximum_object_size=134217728)"


_LINE_RE = re.compile(r"(?:CSV Error on Line: |in line |line )(\d+)")


def _reader_error(path: Path, exc: duckdb.Error) -> InputError:
    msg = str(exc)
    m = _LINE_RE.search(msg)
    first = msg.split("\n")[0]
    first = re.sub(r"^[A-Za-z ]+Error: ", "", first)
    detail = " ".join(line.strip() for line in msg.split("\n")[1:4] if line.strip() and "Possible fixes" not in line)
    reason = first if not detail else f"{first} ({detail})"
    return InputError(str(path), int(m.group(1)) if m else None, f"malformed file: {reason}")


def stage(
    con: duckdb.DuckDBPyConnection,
    table: str,
    paths: Path | Sequence[Path],
    required: Sequence[str],
    optional: Sequence[str],
    checks: Sequence[Check],
    *,
    required_not_null: bool = True,
) -> int:
    """Read ``paths`` (CSV or JSON lines) into temp table ``table`` as text columns, then validate.

    All files land in one table in a single pass each (an ``_ok`` flag is computed while reading, so the
    validation costs no extra scan). Missing required columns, structurally broken lines and values failing
    ``checks`` raise ``InputError`` with the file and line. Optional columns absent from a file are NULL.
    Returns the row count.
    """
    files = [paths] if isinstance(paths, Path) else list(paths)
    wanted = list(dict.fromkeys([*required, *optional]))
    implied = [Check(c, "required", True) for c in required if not any(k.column == c for k in checks)]
    all_checks = [*checks, *(implied if required_not_null else [])]
    ok = " AND ".join(k.predicate() for k in all_checks) or "TRUE"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT "
        + ", ".join(f'NULL::VARCHAR AS "{c}"' for c in wanted)
        + ", 0 AS _file, TRUE AS _ok LIMIT 0"
    )
    layouts = []
    for i, path in enumerate(files):
        fmt = "csv" if path.suffix.lower() == ".csv" else "json"
        if fmt == "csv":
            present = header_of(path)
            missing = [c for c in required if c not in present]
            if missing:
                raise InputError(str(path), 1, f"missing column(s) {', '.join(missing)}; header has {', '.join(present)}")
            columns = present
        else:
            columns = wanted
        layouts.append((path, columns, fmt))
        select = ", ".join(f'"{c}"' if c in columns else f'NULL::VARCHAR AS "{c}"' for c in wanted)
        try:
            con.execute(
                f"INSERT INTO {table} SELECT *, {i}, {ok} FROM (SELECT {select} FROM {_reader_sql(path, columns, fmt)})"
            )
        except duckdb.Error as exc:
            raise _reader_error(path, exc) from None
    bad = con.execute(f"SELECT min(_file) FROM {table} WHERE NOT coalesce(_ok, FALSE)").fetchone()[0]
    if bad is not None:
        path, columns, fmt = layouts[bad]
        for k in all_checks:
            row = con.execute(
                f'SELECT "{k.column}" FROM {table} WHERE _file = {bad} AND NOT coalesce({k.predicate()}, FALSE) LIMIT 1'
            ).fetchone()
            if row is not None:
                line = locate_line(con, path, columns, fmt, k.predicate())
                shown = "missing" if row[0] is None else repr(row[0] if len(row[0]) < 90 else row[0][:90] + "...")
                raise InputError(str(path), line, f"{k.reason()}; got {shown}")
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def locate_line(con: duckdb.DuckDBPyConnection, path: Path, columns: Sequence[str], fmt: str, ok: str) -> int | None:
    """Line number (1-based; the CSV header is line 1) of the first row where SQL ``ok`` is not true.

    Error path only: re-reads the one file single-threaded so that row_number() follows file order.
    """
    offset = 1 if fmt == "csv" else 0
    old = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.execute("SET threads = 1")  # a single-threaded scan keeps file order for row_number()
    try:
        row = con.execute(
            f"SELECT ln FROM (SELECT row_number() OVER () + {offset} AS ln, * FROM {_reader_sql(path, columns, fmt)}) "
            f"WHERE NOT coalesce({ok}, FALSE) ORDER BY ln LIMIT 1"
        ).fetchone()
    finally:
        con.execute(f"SET threads = {int(old)}")
    return row[0] if row else None


def amount_sql(col: str) -> tuple[str, str]:
    """(amount HUGEINT, amount_overflow BIGNUM) expressions for an unsigned text column."""
    return f'TRY_CAST("{col}" AS HUGEINT)', f'CASE WHEN TRY_CAST("{col}" AS HUGEINT) IS NULL THEN "{col}"::BIGNUM END'
