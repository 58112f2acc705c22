"""``chainsleuth report INCIDENT|CASE|TRACE.json --out DIR``: the case report folder."""

from __future__ import annotations

from typing import Annotated

import typer

from chainsleuth import store
from chainsleuth.cli.common import DbOpt, Format, FormatOpt, handle_errors, out, print_json
from chainsleuth.report import resolve, write_report


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def report(
        subject: Annotated[str, typer.Argument(help="Incident id (INC-...), case name, or trace JSON file.")],
        out_dir: Annotated[str, typer.Option("--out", "-o", help="Folder to write the report into.")] = "report",
        title: Annotated[str | None, typer.Option(help="Report title.")] = None,
        model: Annotated[str, typer.Option(help="Taint model when tracing: poison, haircut or fifo.")] = "haircut",
        max_hops: Annotated[int, typer.Option(help="Maximum hops when tracing.")] = 12,
        db: DbOpt = None,
        format: FormatOpt = Format.text,
    ) -> None:
        """Write a self-contained HTML report (opens offline) with JSON, CSV, freeze requests per exchange,
        the victim list, GraphML and STIX 2.1 of the same content.

        JSON keys: dir, html, files[], summary{stolen, traced, at_exchanges, in_mixers, bridges_dex, sanctioned,
        other_services, unresolved, demixed (each {usd, by_asset[]}), exit_points, exchanges, hops,
        transactions}. The full content is report.json in the folder (docs/api.md "Report JSON").
        """
        con = store.connect(db)
        content = resolve(con, subject, trace_options={"model": model, "max_hops": max_hops}, title=title)
        written = write_report(content, out_dir)
        if format == Format.json:
            print_json({**written, "summary": content["summary"]})
            return
        s = content["summary"]

        def usd(v: float | None) -> str:
            return "n/a" if v is None else f"${v:,.0f}"

        out.print(f"[bold]{content['title']}[/]")
        out.print(f"stolen {usd(s['stolen']['usd'])}, traced {usd(s['traced']['usd'])}: at exchanges "
                  f"{usd(s['at_exchanges']['usd'])} ({s['exchanges']} exchanges, freeze requests written), "
                  f"in mixers {usd(s['in_mixers']['usd'])}, unresolved {usd(s['unresolved']['usd'])}")
        out.print(f"report: {written['html']}")
