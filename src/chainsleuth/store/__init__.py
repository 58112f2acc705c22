"""The DuckDB store: one database file, a versioned schema, bulk-load and export helpers.

``connect()`` opens (or creates) the database and applies pending migrations from
``store/migrations/NNNN_name.sql`` in order, recording each in ``schema_version``. Migration numbers are
grouped by area so parallel work never collides: 0001-0099 ledger, 0100 labels/clusters, 0200 tracing,
0300 node ingestion, 0400 detection/attribution, 0500 actions (watch-lists, reports, API).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

from chainsleuth.errors import ChainsleuthError

DEFAULT_DB = "chainsleuth.duckdb"
DB_ENV = "CHAINSLEUTH_DB"


def default_path() -> str:
    """The database path: ``$CHAINSLEUTH_DB`` or ``./chainsleuth.duckdb``."""
    return os.environ.get(DB_ENV) or DEFAULT_DB


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every shipped migration, in order."""
    folder = resources.files("chainsleuth.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name[:-4], entry.read_text(encoding="utf-8")))
    found.sort()
    return found


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """Highest applied migration, 0 for an empty database."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations, each in its own transaction. Returns the names applied."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
        "applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    applied_versions = {r[0] for r in con.execute("SELECT version FROM schema_version").fetchall()}
    applied = []
    for version, name, sql in migrations():
        if version in applied_versions:
            continue
        with transaction(con):
            con.execute(sql)
            con.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [version, name])
        applied.append(name)
    return applied


def connect(path: str | os.PathLike[str] | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database at ``path`` (default: ``default_path()``), creating and migrating it as needed."""
    target = str(path) if path is not None else default_path()
    if target != ":memory:":
        parent = Path(target).resolve().parent
        if not parent.exists():
            raise ChainsleuthError(f"database folder does not exist: {parent}")
    try:
        con = duckdb.connect(target, read_only=read_only)
    except duckdb.Error as exc:  # locked by another process, corrupt file, ...
        raise ChainsleuthError(f"cannot open database {target}: {exc}") from exc
    if not read_only:
        migrate(con)
    elif schema_version(con) < migrations()[-1][0]:
        raise ChainsleuthError(f"database {target} needs migrating: open it once without read_only")
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing: commit on success, roll back on any exception (then re-raise)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (table or column) taken from user input."""
    return '"' + name.replace('"', '""') + '"'


def tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the user tables in the main schema."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def export_parquet(con: duckdb.DuckDBPyConnection, table: str, out: str | os.PathLike[str]) -> int:
    """Write ``table`` to a Parquet file (zstd) and return the number of rows written.

    Parquet has no 128-bit integer (DuckDB would write HUGEINT as a lossy DOUBLE), so exact amounts are
    written as DECIMAL(38, 0), or as decimal text when a value does not fit 38 digits; BIGNUM as text.
    """
    if table not in tables(con):
        raise ChainsleuthError(f"no table named {table!r}; tables: {', '.join(tables(con))}")
    t = quote_ident(table)
    cols = []
    for name, ctype, *_ in con.execute(f"DESCRIBE {t}").fetchall():
        q = quote_ident(name)
        if ctype in ("HUGEINT", "UHUGEINT"):
            fits = con.execute(f"SELECT coalesce(max(abs({q})) < 10::HUGEINT ** 38, TRUE) FROM {t}").fetchone()[0]
            cols.append(f"{q}::{'DECIMAL(38, 0)' if fits else 'VARCHAR'} AS {q}")
        elif ctype in ("BIGNUM", "VARINT"):
            cols.append(f"{q}::VARCHAR AS {q}")
        else:
            cols.append(q)
    target = str(out).replace("'", "''")
    con.execute(f"COPY (SELECT {', '.join(cols)} FROM {t}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
    return con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]


def next_load_id(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT nextval('load_ids')").fetchone()[0]


def record_load(con: duckdb.DuckDBPyConnection, chain: str | None, source: str, kind: str, rows: int) -> int:
    """Note a load in the ``loads`` provenance table; returns its id."""
    load_id = next_load_id(con)
    con.execute(
        "INSERT INTO loads (load_id, chain, source, kind, rows_added) VALUES (?, ?, ?, ?, ?)",
        [load_id, chain, source, kind, rows],
    )
    return load_id
