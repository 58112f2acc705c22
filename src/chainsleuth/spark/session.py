"""The SparkSession for chainsleuth's Spark engine, configured from arguments and the environment.

One session per process (Spark allows one active SparkContext per JVM). Settings, most specific first:
function arguments, then ``CHAINSLEUTH_SPARK_MASTER`` (default ``local[2]``), ``CHAINSLEUTH_SPARK_CHECKPOINT``
(checkpoint folder; default a temporary folder) and ``CHAINSLEUTH_SPARK_CONF`` (extra ``key=value`` Spark
settings separated by ``;``). Against a real cluster the master is a URL (``spark://host:7077``, ``yarn``,
``k8s://https://...``) and the checkpoint folder must be on storage every executor can reach (HDFS, S3).
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING

from chainsleuth.errors import ChainsleuthError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MASTER_ENV = "CHAINSLEUTH_SPARK_MASTER"
CHECKPOINT_ENV = "CHAINSLEUTH_SPARK_CHECKPOINT"
CONF_ENV = "CHAINSLEUTH_SPARK_CONF"
DEFAULT_MASTER = "local[2]"

#: Settings every chainsleuth job relies on: UTC wall-clock timestamps (block times are UTC), Parquet
#: timestamps written without time zone (DuckDB reads them as TIMESTAMP), and exact decimal arithmetic
#: that fails rather than silently returning NULL on overflow.
BASE_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.adaptive.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
}


def parse_conf(text: str | None) -> dict[str, str]:
    """``"k1=v1; k2=v2"`` -> dict; a malformed entry is an error naming it."""
    conf: dict[str, str] = {}
    for item in (text or "").split(";"):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ChainsleuthError(f"{CONF_ENV}: expected key=value, got {item!r}")
        conf[key.strip()] = value.strip()
    return conf


def get_session(
    master: str | None = None,
    *,
    app_name: str = "chainsleuth",
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
    checkpoint_dir: str | None = None,
    conf: dict[str, str] | None = None,
) -> SparkSession:
    """Create (or return the running) SparkSession with chainsleuth's settings.

    ``shuffle_partitions`` defaults to 4 x the local core count for ``local[n]`` masters (Spark's 200 is
    far too many for a laptop) and is left to Spark / ``CHAINSLEUTH_SPARK_CONF`` on a cluster.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - pyspark is a hard dependency
        raise ChainsleuthError("the Spark engine needs pyspark: pip install pyspark") from exc

    master = master or os.environ.get(MASTER_ENV) or DEFAULT_MASTER
    settings = dict(BASE_CONF)
    if master.startswith("local"):
        cores = master[master.find("[") + 1 : master.find("]")] if "[" in master else "1"
        n = (os.cpu_count() or 2) if cores == "*" else int(cores) if cores.isdigit() else 1
        settings["spark.sql.shuffle.partitions"] = str(shuffle_partitions or 4 * n)
        settings["spark.ui.enabled"] = "false"
        settings["spark.driver.memory"] = driver_memory or "2g"
        # A local session talks only to itself: keep the driver and block manager on loopback.
        settings["spark.driver.bindAddress"] = "127.0.0.1"
        settings["spark.driver.host"] = "127.0.0.1"
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    elif shuffle_partitions:
        settings["spark.sql.shuffle.partitions"] = str(shuffle_partitions)
    if driver_memory:
        settings["spark.driver.memory"] = driver_memory
    settings.update(parse_conf(os.environ.get(CONF_ENV)))
    settings.update(conf or {})
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # JVM missing, master unreachable, ...
        raise ChainsleuthError(f"cannot start Spark (master {master}): {str(exc).splitlines()[0]}") from exc
    spark.sparkContext.setLogLevel("ERROR")
    ckpt = checkpoint_dir or os.environ.get(CHECKPOINT_ENV)
    if ckpt or not spark.sparkContext.getCheckpointDir():
        spark.sparkContext.setCheckpointDir(ckpt or tempfile.mkdtemp(prefix="chainsleuth-spark-ckpt-"))
    return spark
