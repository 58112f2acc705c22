"""``chainsleuth simulate``: write a simulated two-chain world with embedded thefts and its ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chainsleuth.cli.common import Format, FormatOpt, handle_errors, out, print_json, table


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def simulate(
        outdir: Annotated[Path, typer.Argument(help="Folder to write the world into (created).")],
        seed: Annotated[
            int, typer.Option("--seed", help="Random seed: the same seed gives byte-identical files.")
        ] = 7,
        scale: Annotated[
            str, typer.Option("--scale", help="small | medium | large | a number of transfers.")
        ] = "small",
        incidents: Annotated[
            str | None,
            typer.Option(
                "--incidents",
                help="Incidents per profile, e.g. lazarus-like=2,exploiter=1,scammer=3 (default one each).",
            ),
        ] = None,
        workers: Annotated[
            int | None,
            typer.Option("--workers", help="Processes writing the files (default: one per CPU, at most 4); "
                                           "the bytes do not depend on it."),
        ] = None,
        format: FormatOpt = Format.text,
    ) -> None:
        """Simulate an EVM chain and a UTXO chain with an economy, thefts and laundering; write ethereum-etl /
        bitcoin-etl files, prices.csv, tags.yaml, owners.csv and truth.json (see docs/simulator.md).

        JSON keys: outdir, seed, transfers_requested, transfers{ethereum{native,token,internal,genesis,total},
        bitcoin{outputs,inputs}, total}, files{ethereum{...}, bitcoin{...}, tags, owners, prices},
        incidents[] {id, profile, victims, hops, stolen{asset: amount}, stolen_usd}, seconds{generate,write,total}.
        """
        from chainsleuth.simulate import simulate as run
        from chainsleuth.simulate.writer import default_workers

        summary = run(outdir, seed=seed, scale=scale, incidents=incidents,
                      workers=default_workers() if workers is None else workers)
        if format == Format.json:
            print_json(summary)
            return
        t = summary["transfers"]
        out.print(
            f"simulated world (seed {summary['seed']}) in {summary['outdir']}: "
            f"{t['total']:,} transfers in {summary['seconds']['total']} s"
        )
        f = summary["files"]
        out.print(
            table(
                "files",
                ["file", "rows"],
                [
                    *[(f"ethereum/{k}", v) for k, v in f["ethereum"].items()],
                    *[(f"bitcoin/{k}", v) for k, v in f["bitcoin"].items()],
                    ("tags.yaml (tags)", f["tags"]),
                    ("owners.csv", f["owners"]),
                ],
            )
        )
        out.print(
            table(
                "incidents",
                ["id", "profile", "victims", "hops", "stolen (USD)"],
                [
                    (i["id"], i["profile"], i["victims"], i["hops"], f"{i['stolen_usd']:,.0f}")
                    for i in summary["incidents"]
                ],
            )
        )
        out.print("ground truth: truth.json, owners.csv")
