"""Shared CLI plumbing: the ``--db`` and ``--format`` options, JSON/rich output, and error handling.

Every command module exposes ``register(app: typer.Typer)``; commands stay thin: parse options, call the
library function, print its result with ``emit``. Errors derived from ``ChainsleuthError`` print one red
line and exit with status 2 (no traceback): they are the user's to fix.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import duckdb
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from chainsleuth.errors import ChainsleuthError
from chainsleuth.jsonable import to_jsonable

console = Console(stderr=True)
out = Console()

DbOpt = Annotated[
    str | None,
    typer.Option("--db", envvar="CHAINSLEUTH_DB", help="DuckDB database file (default ./chainsleuth.duckdb)."),
]


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


EngineOpt = Annotated[Engine, typer.Option("--engine", help="duckdb (embedded) or spark (PySpark; see docs/spark.md).")]
SparkMasterOpt = Annotated[
    str | None,
    typer.Option("--spark-master", envvar="CHAINSLEUTH_SPARK_MASTER", help="Spark master URL (default local[2])."),
]
LakeOpt = Annotated[
    str | None,
    typer.Option("--lake", envvar="CHAINSLEUTH_LAKE", help="Spark engine: Parquet lake folder (default <db>.lake)."),
]


class Format(StrEnum):
    text = "text"
    json = "json"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="text (tables) or json (stable keys).")]


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    t = Table(title=title, title_justify="left")
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    return t


F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Turn user-facing errors into one clear line and exit code 2; database errors into exit code 3.

    Printed as plain text (no markup: messages quote user input) and never wrapped, so `file:line` stays whole."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ChainsleuthError as exc:
            console.print(Text.assemble(("error: ", "bold red"), str(exc)), soft_wrap=True)
            raise typer.Exit(2) from None
        except duckdb.Error as exc:
            console.print(Text.assemble(("database error: ", "bold red"), str(exc)), soft_wrap=True)
            raise typer.Exit(3) from None

    return wrapper  # type: ignore[return-value]
