"""``chainsleuth ingest rpc`` (EVM / TRON JSON-RPC) and ``chainsleuth ingest bitcoin-rpc`` (Bitcoin Core RPC)."""

from __future__ import annotations

import threading
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from chainsleuth import store
from chainsleuth.cli.common import DbOpt, Format, FormatOpt, console, handle_errors, out, print_json, table
from chainsleuth.cli.ingest import ingest_app
from chainsleuth.ingest.node_sync import SyncStats

FromOpt = Annotated[int | None, typer.Option("--from-block", help="First block (default: resume after the last "
                                                                 "stored one, else genesis).")]
ToOpt = Annotated[int | None, typer.Option("--to-block", help="Last block (default: head - confirmations).")]
FollowOpt = Annotated[bool, typer.Option("--follow", help="Keep following the head until interrupted (Ctrl-C).")]
ConfOpt = Annotated[int, typer.Option("--confirmations", help="Stay this many blocks behind the head.")]
WorkersOpt = Annotated[int, typer.Option("--workers", help="Concurrent fetch workers.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds per request before it is retried.")]
ReorgOpt = Annotated[int, typer.Option("--max-reorg-depth", help="Refuse reorganisations deeper than this.")]


class _Bar:
    """A rich progress bar fed by ``sync``'s progress callback: blocks written of the range, blocks/s."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:.0f} blocks/s"), TextColumn("block {task.fields[block]}"),
            TimeElapsedColumn(), console=console, transient=True, disable=not enabled,
        )
        self.task = None
        self.start: int | None = None

    def __enter__(self) -> _Bar:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, stats: SyncStats, block: int, goal: int) -> None:
        if self.start is None:
            self.start = stats.first_block if stats.first_block is not None else block
            self.task = self.progress.add_task("ingesting", total=None, rate=0.0, block=block)
        total = max(goal - self.start + 1, 1)
        self.progress.update(self.task, completed=min(block - self.start + 1, total), total=total,
                             rate=stats.blocks_per_second, block=block)


def _report(stats: SyncStats, format: Format) -> None:
    d = stats.to_dict()
    if format == Format.json:
        print_json(d)
        return
    rng = f"{d['first_block']}..{d['last_block']}" if d["first_block"] is not None else "nothing new"
    out.print(f"{d['chain']} from {d['source']}: blocks {rng}, {d['blocks']} written, {d['skipped_blocks']} already "
              f"stored, {d['seconds']:.1f} s ({d['blocks_per_second']:.0f} blocks/s)")
    if d["rows"]:
        out.print(table("rows added", ["table", "rows"], sorted(d["rows"].items())))
    for r in d["reorgs"]:
        out.print(f"[yellow]reorg:[/] fork at block {r['fork_block']}, orphaned blocks {r['orphaned_from']}.."
                  f"{r['orphaned_to']} replaced ({r['rows_deleted']} rows deleted)")
    for note in d["notes"]:
        out.print(note)


def _run(call, follow: bool, format: Format):  # noqa: ANN001, ANN202 - thin wrapper
    """Run ``call(progress, stop)``; Ctrl-C in --follow mode stops after the range being written."""
    stopping = threading.Event()
    with _Bar(enabled=format == Format.text) as bar:
        try:
            return call(bar, stopping.is_set)
        except KeyboardInterrupt:
            if not follow:
                raise
            console.print("[yellow]interrupted: everything up to the last completed range is stored[/]")
            raise typer.Exit(130) from None


def register(app: typer.Typer) -> None:
    @ingest_app.command("rpc")
    @handle_errors
    def rpc(
        url: Annotated[str, typer.Argument(help="Node JSON-RPC URL (http[s]://[user:pass@]host:port/path).")],
        chain: Annotated[str, typer.Option("--chain", help="Chain name: ethereum, bsc, polygon, tron, ...")],
        from_block: FromOpt = None,
        to_block: ToOpt = None,
        follow: FollowOpt = False,
        confirmations: ConfOpt = 0,
        batch_size: Annotated[int, typer.Option("--batch-size", help="Blocks per JSON-RPC batch and per write.")] = 50,
        workers: WorkersOpt = 4,
        no_traces: Annotated[bool, typer.Option("--no-traces", help="Skip internal transfers (for nodes without "
                                                                     "trace_block / debug_traceBlockByNumber).")] = False,
        tracer: Annotated[str, typer.Option("--tracer", help="auto, parity (trace_block) or geth (callTracer).")]
        = "auto",
        timeout: TimeoutOpt = 60.0,
        max_reorg_depth: ReorgOpt = 1000,
        db: DbOpt = None,
        format: FormatOpt = Format.text,
    ) -> None:
        """Ingest blocks, transactions, token and internal transfers from an EVM (or TRON) JSON-RPC node.

        Incremental (resumes after the last stored block) and reorg-safe. JSON keys: chain, source,
        first_block, last_block, blocks, skipped_blocks, rows{table: n}, reorgs[{fork_block, orphaned_from,
        orphaned_to, rows_deleted}], seconds, blocks_per_second, load_id, notes[].
        """
        from chainsleuth.ingest.evm_rpc import ingest_evm

        con = store.connect(db)
        stats = _run(lambda bar, stop: ingest_evm(
            con, url, chain, from_block=from_block, to_block=to_block, follow=follow, confirmations=confirmations,
            batch_size=batch_size, workers=workers, traces="none" if no_traces else tracer, timeout=timeout,
            max_reorg_depth=max_reorg_depth, progress=bar, stop=stop), follow, format)
        _report(stats, format)

    @ingest_app.command("bitcoin-rpc")
    @handle_errors
    def bitcoin_rpc(
        url: Annotated[str, typer.Argument(help="bitcoind RPC URL (http://user:pass@host:8332/).")],
        chain: Annotated[str, typer.Option("--chain", help="bitcoin, litecoin, dogecoin, bitcoin_cash, ...")]
        = "bitcoin",
        from_block: FromOpt = None,
        to_block: ToOpt = None,
        follow: FollowOpt = False,
        confirmations: ConfOpt = 0,
        batch_size: Annotated[int, typer.Option("--batch-size", help="Blocks per batch and per write.")] = 20,
        workers: WorkersOpt = 2,
        cookie_file: Annotated[str | None, typer.Option("--cookie-file", help="bitcoind .cookie for "
                                                                               "authentication.")] = None,
        timeout: TimeoutOpt = 120.0,
        max_reorg_depth: ReorgOpt = 1000,
        db: DbOpt = None,
        format: FormatOpt = Format.text,
    ) -> None:
        """Ingest blocks, transactions, outputs and inputs from a Bitcoin Core-compatible node.

        Same JSON keys as ``ingest rpc``.
        """
        from chainsleuth.ingest.bitcoin_rpc import ingest_bitcoin

        con = store.connect(db)
        stats = _run(lambda bar, stop: ingest_bitcoin(
            con, url, chain, from_block=from_block, to_block=to_block, follow=follow, confirmations=confirmations,
            batch_size=batch_size, workers=workers, cookie_file=cookie_file, timeout=timeout,
            max_reorg_depth=max_reorg_depth, progress=bar, stop=stop), follow, format)
        _report(stats, format)
