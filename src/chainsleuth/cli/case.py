"""``chainsleuth case ...``: declare and inspect hand-made cases (victim or attacker addresses to trace)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from chainsleuth import store
from chainsleuth.cli.common import DbOpt, Format, FormatOpt, handle_errors, out, print_json, table
from chainsleuth.detect.cases import create_case, delete_case, get_case, list_cases

case_app = typer.Typer(help="Declare cases by hand (after a public report) so they can be traced and attributed.",
                       no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(case_app, name="case")

    @case_app.command("create")
    @handle_errors
    def create(
        name: Annotated[str, typer.Argument(help="Case name (letters, digits, _ - .).")],
        sources_file: Annotated[
            Path, typer.Option("--sources-file", help="Addresses, one per line, or CSV with address[,role].")
        ],
        chain: Annotated[str, typer.Option("--chain", help="Chain of the addresses.")] = "ethereum",
        since: Annotated[datetime | None, typer.Option("--since", help="Trace from this time on.")] = None,
        note: Annotated[str | None, typer.Option("--note", help="Free text, e.g. the public report.")] = None,
        replace: Annotated[bool, typer.Option("--replace", help="Redefine an existing case.")] = False,
        db: DbOpt = None,
        format: FormatOpt = Format.text,
    ) -> None:
        """Declare a case. JSON keys: name, chain, since, source_file, note, created_at, sources[] {address, role}."""
        con = store.connect(db)
        case = create_case(con, name, sources_file, chain=chain, since=since, note=note, replace=replace)
        if format == Format.json:
            print_json(case)
        else:
            out.print(f"case {case.name}: {len(case.sources)} source addresses on {case.chain}")

    @case_app.command("show")
    @handle_errors
    def show(name: str, db: DbOpt = None, format: FormatOpt = Format.text) -> None:
        """One case with its sources (JSON keys as for create)."""
        case = get_case(store.connect(db), name)
        if format == Format.json:
            print_json(case)
            return
        out.print(f"case {case.name} on {case.chain} since {case.since or '-'} ({case.source_file})")
        out.print(table("sources", ["address", "role"], [[s["address"], s["role"]] for s in case.sources]))

    @case_app.command("list")
    @handle_errors
    def list_(db: DbOpt = None, format: FormatOpt = Format.text) -> None:
        """All cases. JSON: list of case objects."""
        cases = list_cases(store.connect(db))
        if format == Format.json:
            print_json(cases)
            return
        out.print(table("cases", ["name", "chain", "since", "sources", "created"],
                        [[c.name, c.chain, c.since, len(c.sources), c.created_at] for c in cases]))

    @case_app.command("delete")
    @handle_errors
    def delete(name: str, db: DbOpt = None) -> None:
        """Remove a case and its sources."""
        delete_case(store.connect(db), name)
        out.print(f"deleted case {name}")
