"""``chainsleuth info``: what is stored."""

from __future__ import annotations

import typer

from chainsleuth import store
from chainsleuth.cli.common import DbOpt, Format, FormatOpt, handle_errors, out, print_json, table
from chainsleuth.store.ledger import summary


def register(app: typer.Typer) -> None:
    @app.command()
    @handle_errors
    def info(db: DbOpt = None, format: FormatOpt = Format.text) -> None:
        """Chains, block and time ranges, row counts, assets, prices and tags in the database.

        JSON keys: chains[] {chain, model, native_asset, traces_ingested, blocks{first,last,count},
        time{first,last}, rows{transactions,transfers,utxo_outputs,utxo_inputs}, transfers_by_kind,
        oversized_amounts, assets[]}, prices{rows,symbols,first_day,last_day}, tags{rows,sources}.
        """
        con = store.connect(db)
        s = summary(con)
        if format == Format.json:
            print_json(s)
            return
        rows = []
        for c in s["chains"]:
            r = c["rows"]
            rows.append(
                [
                    c["chain"], c["model"], f"{c['blocks']['first']}..{c['blocks']['last']}", c["time"]["first"],
                    c["time"]["last"], r["transactions"], r["transfers"] or r["utxo_outputs"],
                    len(c["assets"]), {None: "unknown", True: "yes", False: "skipped"}[c["traces_ingested"]],
                ]
            )
        out.print(
            table(
                "chains",
                ["chain", "model", "blocks", "from", "to", "txs", "transfers/outputs", "assets", "traces"],
                rows,
            )
        )
        p, t = s["prices"], s["tags"]
        out.print(f"prices: {p['rows']} rows for {p['symbols']} symbols ({p['first_day']}..{p['last_day']})")
        out.print(f"tags: {t['rows']} from {t['sources']} sources")
