"""``chainsleuth watch add|list|remove|alerts|run``: watch-lists of attacker and tainted addresses."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from chainsleuth import store, watch
from chainsleuth.cli.common import DbOpt, Format, FormatOpt, handle_errors, out, print_json, table
from chainsleuth.watch.webhook import check_url

watch_app = typer.Typer(help="Watch-lists: follow attacker/tainted funds as blocks are ingested.",
                        no_args_is_help=True)


@watch_app.command("add")
@handle_errors
def add(
    addresses: Annotated[list[str], typer.Argument(help="Addresses to watch.")],
    chain: Annotated[str, typer.Option(help="Chain of the addresses.")] = "ethereum",
    label: Annotated[str | None, typer.Option(help="Why it is watched (e.g. 'Ronin attacker').")] = None,
    case: Annotated[str | None, typer.Option(help="Case or incident id it belongs to.")] = None,
    from_block: Annotated[int | None, typer.Option(help="Also alert on moves from this block on.")] = None,
    db: DbOpt = None,
    format: FormatOpt = Format.text,
) -> None:
    """Watch addresses. JSON keys: chain, added[], label, case_id, watching_after_block."""
    con = store.connect(db)
    res = watch.add(con, addresses, chain, label=label, case_id=case, from_block=from_block)
    if format == Format.json:
        print_json(res)
    else:
        out.print(f"watching {len(res['added'])} address(es) on {chain}; alerts for blocks after "
                  f"{res['watching_after_block']}")


@watch_app.command("remove")
@handle_errors
def remove(
    address: Annotated[str, typer.Argument()],
    chain: Annotated[str, typer.Option()] = "ethereum",
    db: DbOpt = None,
) -> None:
    """Stop watching an address."""
    watch.remove(store.connect(db), address, chain)
    out.print(f"no longer watching {address}")


@watch_app.command("list")
@handle_errors
def list_(
    chain: Annotated[str | None, typer.Option()] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include removed entries.")] = False,
    db: DbOpt = None,
    format: FormatOpt = Format.text,
) -> None:
    """The watch-list. JSON: list of {chain, address, label, case_id, source, parent_address, since_block,
    added_by, added_at, active}."""
    rows, _ = watch.entries(store.connect(db), chain, include_inactive=all_)
    if format == Format.json:
        print_json(rows)
        return
    out.print(table("watch-list", ["chain", "address", "label", "case", "source", "active"],
                    [[r["chain"], r["address"], r["label"], r["case_id"], r["source"], r["active"]] for r in rows]))


@watch_app.command("alerts")
@handle_errors
def alerts(
    chain: Annotated[str | None, typer.Option()] = None,
    severity: Annotated[str | None, typer.Option(help="critical, high or medium.")] = None,
    limit: Annotated[int, typer.Option()] = 50,
    db: DbOpt = None,
    format: FormatOpt = Format.text,
) -> None:
    """Stored alerts, newest first (JSON keys as in `watch run`)."""
    rows, _ = watch.list_alerts(store.connect(db), chain=chain, severity=severity, limit=limit)
    if format == Format.json:
        print_json(rows)
        return
    for a in rows:
        out.print(watch.alert_line(a), highlight=False)


@watch_app.command("run")
@handle_errors
def run(
    once: Annotated[bool, typer.Option("--once", help="Check once and exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between checks.")] = 15.0,
    webhook: Annotated[str | None, typer.Option(help="POST every alert as JSON to this URL.")] = None,
    propagate: Annotated[bool, typer.Option(help="Auto-watch unlabelled recipients of watched funds.")] = False,
    chain: Annotated[str | None, typer.Option()] = None,
    db: DbOpt = None,
) -> None:
    """Follow new blocks; for every move of watched funds print a log line (stderr) and a JSON line (stdout):
    {alert_id, chain, block_number, block_time, tx_hash, from_address, to_address, asset, amount,
    amount_display, severity (critical: exchange deposit/hot wallet/OTC; high: mixer/bridge/sanctioned;
    medium), reason, to_label, to_category, watch_label, case_id, raised_at, webhook_status}."""
    if webhook:
        check_url(webhook)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        n = watch.run(db, once=once, interval=interval, webhook=webhook, propagate=propagate, chain=chain)
    except KeyboardInterrupt:
        return
    if once:
        logging.getLogger("chainsleuth.watch").info("%d alert(s)", n)


def register(app: typer.Typer) -> None:
    app.add_typer(watch_app, name="watch")
