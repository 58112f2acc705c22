"""The ``chainsleuth`` command line (typer + rich). Thin: each group lives in its own module with
``register(app)``, parses options, calls a library function and prints the result (text or ``--format json``)."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="chainsleuth",
    help="Blockchain forensics: ingest chain data, label and cluster, trace stolen funds, detect, attribute, act.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

#: Command modules, in help order. Each defines ``register(app)``.
COMMAND_MODULES = [
    "ingest",
    "ingest_rpc",
    "ingest_files",
    "info",
    "tags",
    "cluster",
    "trace",
    "traces",
    "incidents",
    "case",
    "attribute",
    "report",
    "screen",
    "watch",
    "serve",
    "simulate",
]

for _name in COMMAND_MODULES:
    importlib.import_module(f"chainsleuth.cli.{_name}").register(app)


def main() -> None:
    app()
