"""``chainsleuth traces ...``: list and read saved traces (``chainsleuth trace --save``), with their staleness."""

from __future__ import annotations

from typing import Annotated

import typer

from chainsleuth import store
from chainsleuth.cli.common import DbOpt, Format, FormatOpt, handle_errors, out, print_json, table
from chainsleuth.trace.store import list_traces, load_trace

traces_app = typer.Typer(help="Saved trace results; `stale` means a reorg orphaned blocks they used.",
                         no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(traces_app, name="traces")

    @traces_app.command("list")
    @handle_errors
    def list_cmd(
        chain: Annotated[str | None, typer.Option("--chain", help="Only this chain.")] = None,
        db: DbOpt = None,
        format: FormatOpt = Format.text,
    ) -> None:
        """Saved traces, newest first.

        JSON: list of {trace_id, created_at, chain, direction, model, sources[], first_block, last_block, stale,
        stale_reasons[] {orphaned_from, orphaned_to, marked_at}}.
        """
        rows = list_traces(store.connect(db), chain)
        if format == Format.json:
            print_json(rows)
            return
        out.print(table("saved traces", ["id", "created", "chain", "direction", "model", "sources", "blocks", "stale"],
                        [[r["trace_id"], r["created_at"], r["chain"], r["direction"], r["model"],
                          ", ".join(r["sources"]), f"{r['first_block']}..{r['last_block']}",
                          "[red]STALE[/]" if r["stale"] else ""] for r in rows]))

    @traces_app.command("show")
    @handle_errors
    def show(
        trace_id: Annotated[int, typer.Argument(help="The trace_id printed by `trace --save`.")],
        db: DbOpt = None,
        format: FormatOpt = Format.json,
    ) -> None:
        """A saved trace: the `trace --format json` keys plus trace_id, created_at, stale and stale_reasons."""
        data = load_trace(store.connect(db), trace_id)
        if format == Format.json:
            print_json(data)
            return
        out.print(f"trace {data['trace_id']} ({data['model']}, {data['direction']}) from {', '.join(data['sources'])}: "
                  f"{len(data['exits'])} exit points, {len(data['edges'])} tainted transfers")
        for r in data["stale_reasons"]:
            out.print(f"[red]stale:[/] a reorg orphaned blocks {r['orphaned_from']}..{r['orphaned_to']} "
                      f"(marked {r['marked_at']}); run the trace again")
