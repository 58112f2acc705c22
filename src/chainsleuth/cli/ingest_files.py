"""``chainsleuth ingest etl|csv`` and ``chainsleuth prices import``: file-based loading."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from chainsleuth import store
from chainsleuth.cli.common import (
    DbOpt,
    Engine,
    EngineOpt,
    Format,
    FormatOpt,
    LakeOpt,
    SparkMasterOpt,
    console,
    handle_errors,
    out,
    print_json,
    table,
)
from chainsleuth.cli.ingest import ingest_app

prices_app = typer.Typer(help="USD prices per asset and day (estimates only; never mixed into amounts).",
                         no_args_is_help=True)


def _progress(label: str) -> Progress:
    p = Progress(SpinnerColumn(), TextColumn(label), TimeElapsedColumn(), console=console, transient=True)
    return p


def _print_stats(title: str, stats: dict, format: Format) -> None:
    if format == Format.json:
        print_json(stats)
        return
    rows = [[k, stats.get("staged", {}).get(k, ""), v] for k, v in stats["added"].items()]
    out.print(table(title, ["table", "rows read", "rows added"], rows))
    out.print(f"loaded in {stats['seconds']:.2f} s (load {stats['load_id']})")


def register(app: typer.Typer) -> None:
    app.add_typer(prices_app, name="prices")

    @ingest_app.command("etl")
    @handle_errors
    def etl(
        directory: Annotated[Path, typer.Argument(help="ethereum-etl or bitcoin-etl export folder.")],
        chain: Annotated[str, typer.Option("--chain", help="Chain name: ethereum, bitcoin, tron, ...")],
        engine: EngineOpt = Engine.duckdb,
        spark_master: SparkMasterOpt = None,
        lake: LakeOpt = None,
        db: DbOpt = None,
        format: FormatOpt = Format.text,
    ) -> None:
        """Load an ethereum-etl (CSV or JSON lines) or bitcoin-etl (JSON lines) export folder.

        With --engine spark the export is first written to the partitioned Parquet lake by Spark, then loaded
        into the store (same rows as the DuckDB engine).

        JSON keys: chain, directory, files{entity: [paths]}, staged{entity: rows}, added{table: rows}, seconds,
        load_id (duckdb) or lake, stored{table: rows} (spark).
        """
        con = store.connect(db)
        with _progress(f"loading {directory} into {chain} ({engine.value})") as p:
            p.add_task("load", total=None)
            if engine == Engine.spark:
                from chainsleuth.spark.engine import ingest_etl

                stats = ingest_etl(con, directory, chain, lake_root=lake, master=spark_master)
                stats.setdefault("added", stats.get("stored", {}))
                stats.setdefault("load_id", None)
            else:
                from chainsleuth.ingest.etl import load_etl

                stats = load_etl(con, directory, chain).to_dict()
        _print_stats(f"{chain}: {directory}", stats, format)

    @ingest_app.command("csv")
    @handle_errors
    def csv_(
        file: Annotated[Path, typer.Argument(help="CSV of transfers (explorer, Dune, case files).")],
        chain: Annotated[str, typer.Option("--chain", help="Chain the transfers are on.")],
        columns: Annotated[
            str | None,
            typer.Option("--columns", help="Mapping ours=theirs,... e.g. tx_hash=Hash,amount=Value. Ours: "
                         "tx_hash, block_number, time, from_address, to_address, asset, amount, usd, from_label, to_label."),
        ] = None,
        asset: Annotated[str | None, typer.Option("--asset", help="Asset of every row when the file has none.")] = None,
        decimals: Annotated[
            int | None, typer.Option("--decimals", help="Amounts are decimal units with this many decimals.")
        ] = None,
        db: DbOpt = None,
        format: FormatOpt = Format.text,
    ) -> None:
        """Load a generic transfer CSV; common column names are recognised without --columns.

        JSON keys: file, chain, mapping{ours: theirs}, asset, staged, added{transfers, tags, ...}, seconds, load_id.
        """
        from chainsleuth.ingest.csv_transfers import load_transfer_csv

        mapping = dict(p.split("=", 1) for p in columns.split(",")) if columns else None
        con = store.connect(db)
        stats = load_transfer_csv(con, file, chain, mapping=mapping, asset=asset, decimals=decimals).to_dict()
        _print_stats(f"{chain}: {file}", stats, format)

    @prices_app.command("import")
    @handle_errors
    def prices_import(
        file: Annotated[Path, typer.Argument(help="CSV with columns symbol,day,usd (also date/price/asset aliases).")],
        source: Annotated[str | None, typer.Option("--source", help="Provenance recorded with each price.")] = None,
        db: DbOpt = None,
        format: FormatOpt = Format.text,
    ) -> None:
        """Load daily USD prices; re-importing a (symbol, day) replaces its price.

        JSON keys: file, rows, symbols, first_day, last_day.
        """
        from chainsleuth.ingest.prices import load_prices

        con = store.connect(db)
        stats = load_prices(con, file, source=source)
        if format == Format.json:
            print_json(stats)
        else:
            out.print(f"{stats['rows']} prices for {stats['symbols']} symbols ({stats['first_day']}..{stats['last_day']})")
