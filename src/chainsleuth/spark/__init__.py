"""chainsleuth on Apache Spark: the heavy whole-chain jobs as PySpark DataFrame programs.

* :mod:`chainsleuth.spark.session`  - the SparkSession (``local[2]`` by default; any master URL).
* :mod:`chainsleuth.spark.lake`     - the canonical tables as partitioned Parquet, shared with DuckDB.
* :mod:`chainsleuth.spark.ingest`   - ethereum-etl / bitcoin-etl exports -> the lake.
* :mod:`chainsleuth.spark.cluster`  - multi-input clustering as distributed connected components.
* :mod:`chainsleuth.spark.exposure` - hop-bounded haircut exposure of every address, as iterative joins.
* :mod:`chainsleuth.spark.engine`   - what ``--engine spark`` runs: the jobs plus loading results into the store.

Every job produces the same rows as the embedded DuckDB engine (tests/spark/ checks this).
"""
