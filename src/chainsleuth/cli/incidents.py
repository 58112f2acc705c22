"""``chainsleuth incidents``: detect drain-wave incidents (many wallets emptied into a few fresh addresses)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import typer

from chainsleuth import store
from chainsleuth.cli.common import DbOpt, Format, FormatOpt, handle_errors, out, print_json, table
from chainsleuth.detect.drain import DrainParams
from chainsleuth.detect.incidents import detect_incidents, list_incidents


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def incidents(
        chain: Annotated[list[str] | None, typer.Option("--chain", help="Chain(s) to scan (default: all).")] = None,
        since: Annotated[datetime | None, typer.Option("--since", help="Only drains at or after this time.")] = None,
        min_victims: Annotated[int, typer.Option(help="Victims needed for a wave.")] = DrainParams.min_victims,
        drain_fraction: Annotated[
            float, typer.Option(help="Share of a wallet's balance that must leave it.")
        ] = DrainParams.drain_fraction,
        min_victim_age_days: Annotated[
            float, typer.Option(help="A victim existed at least this long before.")
        ] = DrainParams.min_victim_age.total_seconds() / 86400,
        fresh_hours: Annotated[
            float, typer.Option(help="A recipient was first seen at most this long before.")
        ] = DrainParams.fresh_window.total_seconds() / 3600,
        drain_hours: Annotated[
            float, typer.Option(help="One victim's drain transfers lie within this.")
        ] = DrainParams.drain_window.total_seconds() / 3600,
        wave_hours: Annotated[
            float, typer.Option(help="Victims more than this apart start a new wave.")
        ] = DrainParams.wave_window.total_seconds() / 3600,
        stored: Annotated[bool, typer.Option("--stored", help="List stored incidents without re-detecting.")] = False,
        db: DbOpt = None,
        format: FormatOpt = Format.text,
    ) -> None:
        """Find drain waves, store them (stable ids) and list them ranked by loss.

        JSON: list of {id, kind, chain, window{start,end}, loss_usd, losses[] {asset, symbol, amount, usd},
        victim_count, victims[] {address, usd, first_drain, last_drain, assets[] {asset, symbol, amount,
        balance_before, usd, tx_hashes}}, attackers[] {address, role, first_seen, victims, tx_hashes},
        consolidated, evidence[], parameters}. Amounts are base-unit decimal strings.
        """
        con = store.connect(db)
        if stored:
            found = [i for i in list_incidents(con, since=since) if not chain or i.chain in chain]
        else:
            params = DrainParams(
                min_victims=min_victims, drain_fraction=drain_fraction,
                min_victim_age=timedelta(days=min_victim_age_days), fresh_window=timedelta(hours=fresh_hours),
                drain_window=timedelta(hours=drain_hours), wave_window=timedelta(hours=wave_hours),
            )
            found = detect_incidents(con, chain or None, since=since, params=params)
        if format == Format.json:
            print_json([i.to_dict() for i in found])
            return
        rows = [
            [i.incident_id, i.chain, i.window_start, len(i.victims), len(i.attackers),
             "" if i.loss_usd is None else f"{i.loss_usd:,.0f}",
             ", ".join(f"{x['symbol'] or x['asset'][:10]}" for x in i.losses)]
            for i in found
        ]
        out.print(table("drain-wave incidents (by loss)",
                        ["id", "chain", "start", "victims", "attackers", "USD", "assets"], rows))
        if not found:
            out.print("no drain wave found")
