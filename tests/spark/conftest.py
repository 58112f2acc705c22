"""Spark test fixtures: ONE local[2] SparkSession for the whole test session (a JVM start costs seconds),
and the simulated small world loaded into a DuckDB store with the DuckDB engine, as the reference."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chainsleuth import store
from chainsleuth.ingest.etl import load_etl
from chainsleuth.ingest.prices import load_prices
from chainsleuth.labels.importer import import_file


def pytest_collection_modifyitems(config, items):
    # Every test here shares the one SparkSession: keep them on one xdist worker (make test: --dist loadgroup).
    grouped = config.pluginmanager.hasplugin("xdist")
    for item in items:
        if "tests/spark/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.spark)
            if grouped:
                item.add_marker(pytest.mark.xdist_group("spark"))


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    if shutil.which("java") is None:
        pytest.skip("no Java runtime: run scripts/setup-java.sh (make setup does)")
    from chainsleuth.spark.session import get_session

    session = get_session(
        "local[2]",
        app_name="chainsleuth-tests",
        shuffle_partitions=4,
        driver_memory="2g",
        checkpoint_dir=str(tmp_path_factory.mktemp("spark-checkpoints")),
        conf={"spark.ui.enabled": "false", "spark.sql.adaptive.coalescePartitions.initialPartitionNum": "4"},
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def world_db(small_world, tmp_path_factory) -> Path:
    """The small world ingested by the DuckDB engine (both chains, prices, the world's TagPack)."""
    path = tmp_path_factory.mktemp("spark-world") / "world.duckdb"
    con = store.connect(path)
    load_etl(con, small_world / "ethereum", "ethereum")
    load_etl(con, small_world / "bitcoin", "bitcoin")
    load_prices(con, small_world / "prices.csv")
    import_file(con, small_world / "tags.yaml")
    con.close()
    return path
