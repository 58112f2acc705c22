"""``chainsleuth screen ADDRESS...``: exposure to incidents, sanctioned entities and mixers; risk level."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from chainsleuth import store
from chainsleuth.cli.common import (
    DbOpt,
    Engine,
    EngineOpt,
    Format,
    FormatOpt,
    LakeOpt,
    SparkMasterOpt,
    handle_errors,
    out,
    print_json,
    table,
)
from chainsleuth.errors import ChainsleuthError
from chainsleuth.screen import screen as screen_addresses
from chainsleuth.screen import screen_chain, screen_csv
from chainsleuth.screen.exposure import LEVELS


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def screen(
        addresses: Annotated[list[str] | None, typer.Argument(help="Addresses to screen.")] = None,
        chain: Annotated[str, typer.Option(help="Chain of the addresses (CSV rows may name their own).")] = "ethereum",
        csv_file: Annotated[str | None, typer.Option("--csv", help="Batch: CSV with an address (and chain) column.")]
        = None,
        hops: Annotated[int, typer.Option(help="Backward hops to follow (1 = direct only).")] = 3,
        as_of: Annotated[datetime | None, typer.Option(help="Only value received up to this time (UTC).")] = None,
        basis: Annotated[str, typer.Option(help="Shares of USD value, native coins, or auto.")] = "auto",
        fail_on: Annotated[str | None, typer.Option(help="Exit 1 if any address is at or above this level.")]
        = None,
        all_: Annotated[bool, typer.Option("--all", help="Screen every address of --chain that another address paid.")]
        = False,
        engine: EngineOpt = Engine.duckdb,
        spark_master: SparkMasterOpt = None,
        lake: LakeOpt = None,
        db: DbOpt = None,
        format: FormatOpt = Format.text,
    ) -> None:
        """Direct and indirect exposure (share of received value from incidents, sanctioned entities, mixers
        within N hops, backward haircut) and a risk level (severe/high/medium/low) with reasons and tx evidence.

        JSON: a list of {chain, address, label, risk{level, reasons[]}, basis, hops, as_of, received{value,
        transfers}, exposure{incident|sanctioned|mixer: {direct, indirect, total, direct_value,
        indirect_value}}, sources[{address, label, category, entity, risk_type, hop, direct, via, share, value,
        transfers, evidence[{tx_hash, time, asset, amount, value}]}]}.
        """
        if fail_on is not None and fail_on not in LEVELS:
            raise ChainsleuthError(f"--fail-on must be one of {', '.join(LEVELS)}")
        con = store.connect(db)
        opts = {"hops": hops, "as_of": as_of, "basis": basis}
        results = []
        if all_:
            if engine == Engine.spark:
                from chainsleuth.spark.engine import screen_all

                results += screen_all(con, chain, lake_root=lake, master=spark_master, **opts)
            else:
                results += screen_chain(con, chain, **opts)
        elif engine == Engine.spark:
            raise ChainsleuthError("--engine spark screens whole chains: use it with --all")
        if csv_file:
            results += screen_csv(con, csv_file, default_chain=chain, **opts)
        if addresses:
            results += screen_addresses(con, addresses, chain, **opts)
        if not results:
            raise ChainsleuthError("give addresses, --csv FILE or --all")
        if format == Format.json:
            print_json(results)
        else:
            def pct(e: dict) -> str:
                return f"{100 * e['direct']:.1f}% / {100 * e['indirect']:.1f}%"

            rows = [[r.address, r.chain, r.level.upper(), pct(r.exposure["incident"]), pct(r.exposure["sanctioned"]),
                     pct(r.exposure["mixer"]), "; ".join(r.reasons)] for r in results]
            out.print(table("screening (exposure direct / indirect)",
                            ["address", "chain", "risk", "incident", "sanctioned", "mixer", "reasons"], rows))
        if fail_on and any(LEVELS.index(r.level) >= LEVELS.index(fail_on) for r in results):
            raise typer.Exit(1)
