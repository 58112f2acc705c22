"""Spark test fixtures: ONE local[2] SparkSession for the whole test session (a JVM start costs seconds),
configured for tiny data (2 shuffle partitions, no UI), and the simulated small world loaded ONCE into a
DuckDB store with the DuckDB engine (the reference) and exported ONCE to a lake that every analysis test
reads, so no test re-ingests the world."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chainsleuth import store
from chainsleuth.cli import app
from chainsleuth.ingest.etl import load_etl
from chainsleuth.ingest.prices import load_prices
from chainsleuth.labels.importer import import_file

#: Small data on two cores: few partitions (every shuffle partition is a task to schedule), no UI, and no
#: adaptive execution: on test-sized data AQE's re-planning between query stages (one job per stage) costs
#: more than it saves (UTXO clustering of the small world: 44-50 s without, 77-133 s with, same results).
#: Results do not depend on the physical plan; production sessions keep AQE on (session.BASE_CONF).
TEST_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.sql.adaptive.coalescePartitions.initialPartitionNum": "2",
    "spark.sql.files.openCostInBytes": "1048576",
}


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
        shuffle_partitions=2,
        driver_memory="2g",
        checkpoint_dir=str(tmp_path_factory.mktemp("spark-checkpoints")),
        conf=TEST_CONF,
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


@pytest.fixture(scope="session")
def stores(world_db, spark, tmp_path_factory):
    """(duckdb-engine store, spark-engine store, lake): the second store gets labels and prices only, its
    ledger reaches Spark through a lake exported from the first (the path of data ingested by DuckDB)."""
    from chainsleuth.spark import lake

    tmp = tmp_path_factory.mktemp("spark-analyses")
    duck = store.connect(world_db)
    root = str(tmp / "lake")
    for chain in ("ethereum", "bitcoin"):
        lake.export_store(duck, root, chain)
    via = store.connect(tmp / "spark.duckdb")
    for chain in ("ethereum", "bitcoin"):
        lake.load_into_store(via, root, chain)
    with duck.cursor() as cur:
        for table in ("tags", "prices", "actors"):
            via.register("_t", cur.sql(f"SELECT * FROM {table}").to_arrow_table())
            via.execute(f"INSERT INTO {table} SELECT * FROM _t")
            via.unregister("_t")
    yield duck, via, root
    duck.close()
    via.close()


@pytest.fixture
def cli(spark, monkeypatch):
    # The CLI's get_session() finds the running session and re-applies its runtime settings (BASE_CONF turns
    # AQE on): keep the test settings.
    monkeypatch.setenv("CHAINSLEUTH_SPARK_CONF", ";".join(f"{k}={v}" for k, v in TEST_CONF.items()
                                                          if k.startswith("spark.sql.")))
    runner = CliRunner()

    def run(*args: str, db: Path, lake: Path | str) -> str:
        r = runner.invoke(app, [*args, "--db", str(db), "--format", "json"], env={"CHAINSLEUTH_LAKE": str(lake)})
        assert r.exit_code == 0, (r.output[-2000:], r.exception)
        return r.stdout

    return run
