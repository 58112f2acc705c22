"""Entry point for ``spark-submit``: the Spark jobs lake-to-lake, for clusters where the driver is not the
analyst's laptop.

    spark-submit --master yarn --deploy-mode client \\
        --conf spark.sql.shuffle.partitions=2000 --py-files chainsleuth.zip \\
        $(python -c 'import chainsleuth.spark.submit as s; print(s.__file__)') \\
        ingest hdfs:///exports/ethereum --chain ethereum --lake hdfs:///lake

Sub-commands (results are Parquet under ``LAKE/_results/<job>/chain=<chain>/``):

* ``ingest DIR --chain C --lake LAKE [--bucket-size N]``  ethereum-etl / bitcoin-etl folder -> lake
  (DIR is read on the driver to list files; use a path every executor can read);
* ``cluster --chain C --lake LAKE [--tags FILE.parquet]``  UTXO clusters (address, cluster_id, heuristic,
  evidence_tx) and exclusions;
* ``exposure --chain C --lake LAKE --db STORE [--hops 3]``  exposure rows and received value of every
  receiving address; labels, assets and prices are read from the chainsleuth DuckDB file on the driver.

Load the results into a store with :func:`chainsleuth.spark.lake.load_into_store` (ledger) or read them
with DuckDB's ``read_parquet``.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="chainsleuth.spark.submit", description="chainsleuth Spark jobs")
    sub = p.add_subparsers(dest="job", required=True)
    ing = sub.add_parser("ingest")
    ing.add_argument("directory")
    ing.add_argument("--bucket-size", type=int, default=None)
    clu = sub.add_parser("cluster")
    clu.add_argument("--tags", default=None, help="Parquet of tags (address, category, actor, label)")
    exp = sub.add_parser("exposure")
    exp.add_argument("--db", required=True, help="chainsleuth DuckDB file with labels, assets and prices")
    exp.add_argument("--hops", type=int, default=3)
    for s in (ing, clu, exp):
        s.add_argument("--chain", required=True)
        s.add_argument("--lake", required=True)
        s.add_argument("--master", default=None, help="default: what spark-submit set, else local[2]")
    args = p.parse_args(argv)

    from pyspark.sql import SparkSession

    from chainsleuth.spark.session import get_session

    active = SparkSession.getActiveSession()
    spark = active or get_session(args.master)
    out = f"{args.lake.rstrip('/')}/_results/{args.job}/chain={args.chain}"
    if args.job == "ingest":
        from chainsleuth.spark.ingest import etl_to_parquet

        print(json.dumps(etl_to_parquet(spark, args.directory, args.chain, args.lake,
                                        bucket_size=args.bucket_size).to_dict()))
    elif args.job == "cluster":
        import pyarrow.parquet as pq

        from chainsleuth.spark.cluster import cluster_utxo

        tags = pq.read_table(args.tags) if args.tags else None
        res = cluster_utxo(spark, args.lake, args.chain, tags=tags)
        res["clusters"].write.mode("overwrite").parquet(f"{out}/clusters")
        res["exclusions"].write.mode("overwrite").parquet(f"{out}/exclusions")
        print(json.dumps({k: v for k, v in res.items() if k not in ("clusters", "exclusions", "cached")}))
    else:
        from chainsleuth import store
        from chainsleuth.screen.flows import chain_model, pick_basis
        from chainsleuth.screen.labels import load_labels
        from chainsleuth.spark.exposure import flows, labels_frame, propagate

        con = store.connect(args.db)
        model, native = chain_model(con, args.chain)
        basis = pick_basis(con, args.chain)
        load_labels(con, args.chain, "_scr_labels")
        labels = labels_frame(spark, con.sql("SELECT * FROM _scr_labels").to_arrow_table())
        assets = spark.createDataFrame(con.sql(
            "SELECT asset, symbol, decimals FROM assets WHERE chain = $c", params={"c": args.chain}).df(),
            "asset string, symbol string, decimals int")
        prices = spark.createDataFrame(con.sql("SELECT symbol, day, usd FROM prices").df(),
                                       "symbol string, day date, usd double")
        flow = flows(spark, args.lake, args.chain, model=model, native=native, basis=basis, assets=assets,
                     prices=prices)
        exposure, received = propagate(spark, flow, labels, hops=args.hops)
        exposure.write.mode("overwrite").parquet(f"{out}/exposure")
        received.write.mode("overwrite").parquet(f"{out}/received")
        print(json.dumps({"basis": basis, "hops": args.hops, "out": out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
