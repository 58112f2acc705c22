"""``chainsleuth trace``: follow funds forward (where did it go) or backward (where did it come from)."""

from __future__ import annotations

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
from chainsleuth.trace import DEFAULT_MAX_HOPS, read_sources_file, trace
from chainsleuth.trace.store import save_trace


def _fmt_usd(v: float | None) -> str:
    return "" if v is None else f"{v:,.2f}"


def register(app: typer.Typer) -> None:
    @app.command("trace")
    @handle_errors
    def trace_cmd(
        addresses: Annotated[list[str] | None, typer.Argument(help="Source addresses (attacker, victim, deposit).")] = None,
        chain: Annotated[str, typer.Option("--chain", "-c", help="Chain of the source addresses.")] = "ethereum",
        sources_file: Annotated[str | None, typer.Option("--sources-file", help="File with one address per line.")] = None,
        after: Annotated[str | None, typer.Option("--after", help="ISO time or block: ignore transfers before.")] = None,
        until: Annotated[str | None, typer.Option("--until", help="ISO time or block: ignore transfers after.")] = None,
        model: Annotated[str, typer.Option("--model", "-m", help="poison | haircut | fifo")] = "poison",
        direction: Annotated[str, typer.Option("--direction", help="forward | backward")] = "forward",
        max_hops: Annotated[int, typer.Option("--max-hops", help="Longest path followed.")] = DEFAULT_MAX_HOPS,
        min_value: Annotated[float, typer.Option("--min-value", help="Drop taint worth less (USD per edge).")] = 0.0,
        demix: Annotated[bool, typer.Option("--demix", help="Follow mixer deposits to likely withdrawals.")] = False,
        gaps: Annotated[str, typer.Option("--gaps", help="Spends beyond the known balance: proportional | clean")] =
        "proportional",
        save: Annotated[bool, typer.Option("--save", help="Store the result in the traces table.")] = False,
        engine: EngineOpt = Engine.duckdb,
        spark_master: SparkMasterOpt = None,
        lake: LakeOpt = None,
        db: DbOpt = None,
        format: FormatOpt = Format.text,
    ) -> None:
        """Trace funds under a taint model and report exit points, the flow graph, resting funds and totals.

        JSON keys: sources, chain, model, direction, parameters, exits[] {address, chain, label, category, entity,
        via, asset, symbol, amount, usd, tx_hashes, hop}, edges[] {chain, tx_hash, block_number, time, from, to,
        asset, symbol, amount, usd, hop, kind}, resting[] {address, chain, label, category, asset, symbol, amount,
        usd, tx_hashes, hop_limited}, demix[], totals {by_asset[], usd{}, hops, iterations, converged}, warnings,
        and trace_id when saved. Amounts are decimal strings in base units.

        --engine spark traces many sources at once over the Parquet lake (account chains, forward; no bridge
        or mixer continuations): the same result as --engine duckdb there (docs/spark.md).
        """
        sources = list(addresses or [])
        if sources_file:
            sources.extend(read_sources_file(sources_file, chain))
        if not sources:
            raise ChainsleuthError("give source addresses or --sources-file")
        con = store.connect(db)
        if engine == Engine.spark:
            from chainsleuth.spark.engine import trace as spark_trace

            result = spark_trace(con, sources, chain, model=model, direction=direction, max_hops=max_hops,
                                 after=after, until=until, min_value=min_value, demix=demix, gaps=gaps,
                                 lake_root=lake, master=spark_master)
        else:
            result = trace(con, sources, chain, after=after, until=until, model=model, direction=direction,
                           max_hops=max_hops, min_value=min_value, demix=demix, gaps=gaps)
        data = result.to_dict()
        if save:
            data["trace_id"] = save_trace(con, result)
        if format == Format.json:
            print_json(data)
            return
        word = "exit points" if direction == "forward" else "origins at services"
        out.print(table(word, ["address", "label", "category", "asset", "amount", "USD", "hop", "txs"],
                        [[x["address"], x["label"], x["category"], x["symbol"] or x["asset"], x["amount"],
                          _fmt_usd(x["usd"]), x["hop"], len(x["tx_hashes"])] for x in data["exits"]]))
        rest = data["resting"][:25]
        title = "still at unlabelled addresses" if direction == "forward" else "origins"
        out.print(table(f"{title} (top {len(rest)} of {len(data['resting'])})",
                        ["address", "asset", "amount", "USD", "hop limit"],
                        [[x["address"], x["symbol"] or x["asset"], x["amount"], _fmt_usd(x["usd"]),
                          "yes" if x["hop_limited"] else ""] for x in rest]))
        u = data["totals"]["usd"]
        out.print(table("totals (USD)", list(u), [[_fmt_usd(v) for v in u.values()]]))
        out.print(f"{len(data['edges'])} tainted transfers, {data['totals']['hops']} hops"
                  + (f", saved as trace {data['trace_id']}" if save else ""))
        for w in data["warnings"]:
            out.print(f"[yellow]warning:[/] {w}")
