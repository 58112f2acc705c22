"""The default public tag set shipped inside the package (see ``labels/data/SOURCE.md`` for provenance)."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import duckdb

from chainsleuth.labels.importer import import_actors, import_file

DEFAULT_PREFIX = "default:"


def data_dir() -> Path:
    return Path(str(resources.files("chainsleuth.labels") / "data"))


def load_default_tags(con: duckdb.DuckDBPyConnection) -> dict:
    """Load the shipped OFAC lists, GraphSense TagPacks and actors. Idempotent: each file is one dataset
    (``default:<file>``) that a re-load replaces. Returns {datasets, tags, actors, skipped_invalid}."""
    root = data_dir()
    with (root / "graphsense-tagpacks" / "actors.csv").open(newline="", encoding="utf-8") as fh:
        actors = list(csv.DictReader(fh))
    n_actors = import_actors(con, actors, DEFAULT_PREFIX + "actors.csv")["actors"]
    results = []
    for path in sorted((root / "ofac").glob("sanctioned_addresses_*.txt")):
        results.append(import_file(con, path, fmt="ofac", dataset=DEFAULT_PREFIX + path.name))
    for path in sorted((root / "graphsense-tagpacks").glob("*.yaml")):
        results.append(import_file(con, path, fmt="tagpack", skip_invalid=True, dataset=DEFAULT_PREFIX + path.name))
    return {
        "datasets": len(results),
        "tags": sum(r["tags"] for r in results),
        "actors": n_actors,
        "skipped_invalid": [s for r in results for s in r["skipped_invalid"]],
    }
