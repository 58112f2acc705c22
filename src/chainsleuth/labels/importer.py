"""``chainsleuth tags import``: recognise a label file and store it as one dataset, all-or-nothing.

Formats: GraphSense TagPack (``.yaml``/``.yml`` with ``tags:``), GraphSense ActorPack (``.yaml`` with
``actors:``), OFAC list (``sanctioned_addresses_<ASSET>.txt|json``) and plain CSV (``.csv``). The whole
file is parsed and validated before anything is written, then written in one transaction that replaces
the dataset's previous version.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from chainsleuth.errors import InputError
from chainsleuth.labels.csvtags import read_csv_tags
from chainsleuth.labels.ofac import asset_of, read_ofac
from chainsleuth.labels.tagpack import is_actorpack, read_actorpack, read_tagpack
from chainsleuth.labels.tagstore import replace_dataset
from chainsleuth.store import record_load, transaction

FORMATS = ("tagpack", "actorpack", "ofac", "csv")


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if asset_of(path) is not None:
        return "ofac"
    if suffix in (".yaml", ".yml"):
        return "actorpack" if is_actorpack(path) else "tagpack"
    if suffix == ".csv":
        return "csv"
    raise InputError(str(path), None, f"cannot tell the format of {path.name}: use one of {', '.join(FORMATS)}")


def import_file(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    *,
    fmt: str | None = None,
    asset: str | None = None,
    strict_checksum: bool = True,
    skip_invalid: bool = False,
    dataset: str | None = None,
) -> dict:
    """Import one label file. Returns {file, format, dataset, tags, replaced, skipped_invalid, chains}."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), None, "no such file")
    fmt = fmt or detect_format(path)
    if fmt == "actorpack":
        actors = read_actorpack(path)
        return import_actors(con, actors, dataset or f"actorpack:{path.name}") | {"file": str(path)}
    invalid: list[str] = []
    if fmt == "tagpack":
        pack = read_tagpack(path, strict_checksum=strict_checksum, skip_invalid=skip_invalid)
        records, invalid = pack.records, pack.invalid
    elif fmt == "ofac":
        records = read_ofac(path, asset)
        code = (asset or asset_of(path) or "").upper()
        dataset = dataset or f"ofac:{code}"
    elif fmt == "csv":
        records = read_csv_tags(path)
    else:
        raise InputError(str(path), None, f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    dataset = dataset or f"{fmt}:{path.name}"
    result = replace_dataset(con, dataset, records)
    record_load(con, None, str(path), f"tags:{fmt}", result["tags"])
    chains: dict[str, int] = {}
    for r in records:
        chains[r.chain or "*"] = chains.get(r.chain or "*", 0) + 1
    return {"file": str(path), "format": fmt, **result, "skipped_invalid": invalid, "chains": chains}


def import_actors(con: duckdb.DuckDBPyConnection, actors: list[dict], dataset: str) -> dict:
    """Store ActorPack actors (replacing the dataset's earlier version; an actor id named by another
    dataset keeps that dataset's entry)."""
    tbl = pa.Table.from_pylist(actors, schema=pa.schema(
        [("actor", pa.string()), ("label", pa.string()), ("categories", pa.string()), ("uri", pa.string())]
    ))
    con.register("_incoming_actors", tbl)
    try:
        with transaction(con):
            replaced = con.execute("SELECT count(*) FROM actors WHERE dataset = ?", [dataset]).fetchall()[0][0]
            con.execute("DELETE FROM actors WHERE dataset = ?", [dataset])
            con.execute(
                "INSERT INTO actors SELECT actor, any_value(label), any_value(categories), any_value(uri), ? "
                "FROM _incoming_actors GROUP BY actor ON CONFLICT DO NOTHING",
                [dataset],
            )
            stored = con.execute("SELECT count(*) FROM actors WHERE dataset = ?", [dataset]).fetchall()[0][0]
    finally:
        con.unregister("_incoming_actors")
    return {"format": "actorpack", "dataset": dataset, "actors": stored, "replaced": replaced}
