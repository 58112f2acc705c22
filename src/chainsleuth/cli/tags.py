"""``chainsleuth tags``: import label files, add a tag by hand, show what is known about an address."""

from __future__ import annotations

from typing import Annotated

import typer

from chainsleuth import store
from chainsleuth.cli.common import DbOpt, Format, FormatOpt, handle_errors, out, print_json, table
from chainsleuth.labels.defaults import load_default_tags
from chainsleuth.labels.importer import FORMATS, import_file
from chainsleuth.labels.resolve import describe_address
from chainsleuth.labels.tagstore import add_tag, datasets
from chainsleuth.model import Category

tags_app = typer.Typer(help="Address labels: import TagPacks / OFAC lists / CSV, add, show.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(tags_app, name="tags")


@tags_app.command("import")
@handle_errors
def import_cmd(
    files: Annotated[list[str], typer.Argument(help="TagPack/ActorPack YAML, OFAC sanctioned_addresses_*.txt|json, CSV")],
    as_: Annotated[str | None, typer.Option("--as", help=f"input format: {', '.join(FORMATS)} (default: guess)")] = None,
    asset: Annotated[str | None, typer.Option(help="OFAC asset code when the file name lacks it (XBT, ETH, ...)")] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="TagPacks: skip (and list) tags whose address is invalid")
    ] = False,
    lenient_checksum: Annotated[
        bool, typer.Option("--lenient-checksum", help="accept EVM addresses with a wrong EIP-55 checksum")
    ] = False,
    db: DbOpt = None,
    format: FormatOpt = Format.text,
) -> None:
    """Import label files; each file is one dataset, replaced (never duplicated) on re-import.

    JSON: list of {file, format, dataset, tags, replaced, skipped_invalid[], chains{chain: n}}.
    """
    con = store.connect(db)
    results = [
        import_file(con, f, fmt=as_, asset=asset, skip_invalid=skip_invalid, strict_checksum=not lenient_checksum)
        for f in files
    ]
    if format == Format.json:
        print_json(results)
        return
    for r in results:
        n = r.get("tags", r.get("actors"))
        what = "actors" if r["format"] == "actorpack" else "tags"
        out.print(f"{r['file']}: {n} {what} as dataset {r['dataset']} (replaced {r['replaced']})")
        for s in r.get("skipped_invalid", []):
            out.print(f"  skipped {s}")


@tags_app.command("load-defaults")
@handle_errors
def load_defaults_cmd(db: DbOpt = None, format: FormatOpt = Format.text) -> None:
    """Load the public tag set shipped with chainsleuth (OFAC lists, GraphSense TagPacks and actors).

    JSON: {datasets, tags, actors, skipped_invalid[]}.
    """
    con = store.connect(db)
    r = load_default_tags(con)
    if format == Format.json:
        print_json(r)
        return
    out.print(f"loaded {r['tags']} tags in {r['datasets']} datasets and {r['actors']} actors "
              f"({len(r['skipped_invalid'])} invalid tags skipped)")


@tags_app.command("add")
@handle_errors
def add_cmd(
    address: str,
    label: Annotated[str, typer.Option(help="what the address is, e.g. 'Binance 14'")],
    category: Annotated[
        str | None, typer.Option(help=f"one of: {', '.join(c.value for c in Category)}")
    ] = None,
    chain: Annotated[str | None, typer.Option(help="chain (default: every chain)")] = None,
    actor: Annotated[str | None, typer.Option(help="entity id, e.g. binance, lazarusgroup")] = None,
    source: Annotated[str, typer.Option(help="where this comes from (URL, case file)")] = "manual",
    confidence: Annotated[float, typer.Option(help="0..1")] = 1.0,
    note: Annotated[str | None, typer.Option()] = None,
    db: DbOpt = None,
    format: FormatOpt = Format.text,
) -> None:
    """Tag one address by hand (dataset 'manual'; the same chain/address/label/source is stored once).

    JSON: the stored tag {chain, address, label, category, actor, source, confidence, tagged_on, added_by, note}.
    """
    con = store.connect(db)
    rec = add_tag(con, address, label, chain=chain, category=category, actor=actor, source=source,
                  confidence=confidence, note=note)
    if format == Format.json:
        print_json(rec)
        return
    out.print(f"tagged {rec.address} ({rec.chain or 'every chain'}): {rec.label} [{rec.category or '-'}]")


@tags_app.command("show")
@handle_errors
def show_cmd(
    address: str,
    chain: Annotated[str | None, typer.Option(help="only this chain")] = None,
    db: DbOpt = None,
    format: FormatOpt = Format.text,
) -> None:
    """Tags of an address with provenance, and the label chosen for it per chain (direct, via its cluster,
    or as a detected deposit address).

    JSON: {address, tags[] {chain, address, label, category, actor, source, confidence, tagged_on, added_by,
    added_at, note, dataset}, chains[] {chain, best, candidates[] {label, category, actor, source, confidence,
    via}}}.
    """
    con = store.connect(db)
    d = describe_address(con, address, chain)
    if format == Format.json:
        print_json(d)
        return
    if not d["tags"] and not d["chains"]:
        out.print(f"{d['address']}: no tags")
        return
    out.print(table(
        f"tags of {d['address']}",
        ["chain", "label", "category", "actor", "confidence", "source", "added by", "dataset"],
        [[t["chain"] or "*", t["label"], t["category"], t["actor"], t["confidence"], t["source"], t["added_by"],
          t["dataset"]] for t in d["tags"]],
    ))
    for c in d["chains"]:
        b = c["best"]
        if b:
            out.print(f"{c['chain']}: {b['label']} [{b['category']}] via {b['via']} ({b['source']})")


@tags_app.command("datasets")
@handle_errors
def datasets_cmd(db: DbOpt = None, format: FormatOpt = Format.text) -> None:
    """Tag datasets in the database. JSON: list of {dataset, tags, chains, added_at}."""
    con = store.connect(db)
    ds = datasets(con)
    if format == Format.json:
        print_json(ds)
        return
    out.print(table("tag datasets", ["dataset", "tags", "chains", "added"],
                    [[d["dataset"], d["tags"], d["chains"], d["added_at"]] for d in ds]))
