"""``chainsleuth ingest ...``: bring chain data into the store. Other modules add commands to ``ingest_app``."""

from __future__ import annotations

import typer

ingest_app = typer.Typer(help="Load chain data: ETL exports, CSV transfers, nodes.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
