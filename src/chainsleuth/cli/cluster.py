"""``chainsleuth cluster`` (run the clustering heuristics on a chain) and ``chainsleuth entity ADDRESS``."""

from __future__ import annotations

from typing import Annotated

import typer

from chainsleuth import store
from chainsleuth.cli.common import (
    DbOpt,
    Engine,
    EngineOpt,
    Format,
    FormatOpt,
    LakeOpt,
    SparkMasterOpt,
    handle_errors,
    out,
    print_json,
    table,
)
from chainsleuth.cluster import EvmHeuristics, UtxoHeuristics, cluster_chain
from chainsleuth.cluster.entity import entity as entity_of
from chainsleuth.cluster.utxo import CHANGE_SIGNALS, DEFAULT_CHANGE_SIGNALS
from chainsleuth.errors import ChainsleuthError
from chainsleuth.model import Model, chain_info


def register(app: typer.Typer) -> None:
    app.command("cluster")(cluster_cmd)
    app.command("entity")(entity_cmd)


@handle_errors
def cluster_cmd(
    chain: Annotated[str, typer.Option(help="chain to cluster (bitcoin, ethereum, ...)")],
    multi_input: Annotated[bool, typer.Option(help="UTXO: common-input-ownership")] = True,
    change: Annotated[bool, typer.Option(help="UTXO: one-time change address + one more signal")] = True,
    change_signal: Annotated[
        list[str] | None,
        typer.Option(help=f"UTXO: change signal to accept, repeatable ({', '.join(CHANGE_SIGNALS)}); "
                     "default: round, decimals"),
    ] = None,
    coinjoin_exclusion: Annotated[bool, typer.Option(help="UTXO: skip CoinJoins and post-mix spends")] = True,
    min_equal_outputs: Annotated[int, typer.Option(help="UTXO: equal outputs that make a CoinJoin")] = 3,
    entity_conflicts: Annotated[bool, typer.Option(help="UTXO: skip txs whose inputs are tagged as 2 entities")] = True,
    deposit: Annotated[bool, typer.Option(help="EVM: deposit-address heuristic")] = True,
    airdrop: Annotated[bool, typer.Option(help="EVM: airdrop multi-participation heuristic (opt-in)")] = False,
    max_loss: Annotated[float, typer.Option(help="EVM: share of a deposit a sweep may lose to fees")] = 0.05,
    window_days: Annotated[int, typer.Option(help="EVM: days within which a deposit is swept")] = 30,
    engine: EngineOpt = Engine.duckdb,
    spark_master: SparkMasterOpt = None,
    lake: LakeOpt = None,
    db: DbOpt = None,
    format: FormatOpt = Format.text,
) -> None:
    """Cluster a chain's addresses (replacing its previous clustering) and detect EVM deposit addresses.

    --engine spark runs the same heuristics (UTXO, or EVM deposit-address/airdrop) and connected components
    (large-star/small-star) on PySpark over the Parquet lake and stores the same result.

    JSON: {chain, heuristics[], addresses, clusters, largest, links, seconds, and for UTXO change_links,
    excluded{reason: txs}; for EVM deposit_addresses, links_by_heuristic{}}.
    """
    con = store.connect(db)
    row = con.execute("SELECT model FROM chains WHERE chain = ?", [chain]).fetchall()
    model = row[0][0] if row else chain_info(chain).model
    if model == Model.UTXO:
        signals = tuple(change_signal) if change_signal else DEFAULT_CHANGE_SIGNALS
        bad = set(signals) - set(CHANGE_SIGNALS)
        if bad:
            raise ChainsleuthError(f"unknown change signal(s) {', '.join(sorted(bad))}: use {', '.join(CHANGE_SIGNALS)}")
        h: UtxoHeuristics | EvmHeuristics = UtxoHeuristics(
            multi_input=multi_input, change=change, change_signals=signals, coinjoin_exclusion=coinjoin_exclusion,
            exclude_post_mix=coinjoin_exclusion, min_equal_outputs=min_equal_outputs,
            exclude_entity_conflicts=entity_conflicts,
        )
    else:
        h = EvmHeuristics(deposit=deposit, airdrop=airdrop, max_loss=max_loss, window_days=window_days)
    if engine == Engine.spark:
        from chainsleuth.spark.engine import cluster as spark_cluster

        r = spark_cluster(con, chain, heuristics=h, lake_root=lake, master=spark_master)
    else:
        r = cluster_chain(con, chain, h)
    if format == Format.json:
        print_json(r)
        return
    out.print(f"{chain}: {r['addresses']} addresses in {r['clusters']} clusters (largest {r['largest']}), "
              f"{r['links']} links, {r['seconds']} s; heuristics: {', '.join(r['heuristics'])}")
    if "excluded" in r:
        out.print(f"change links: {r['change_links']}; excluded transactions: "
                  + (", ".join(f"{k} {v}" for k, v in r["excluded"].items()) or "none"))
    if "deposit_addresses" in r:
        out.print(f"deposit addresses: {r['deposit_addresses']}; links: {r['links_by_heuristic']}")


@handle_errors
def entity_cmd(
    address: str,
    chain: Annotated[str | None, typer.Option(help="chain (default from the address format)")] = None,
    top: Annotated[int, typer.Option(help="how many counterparties")] = 10,
    db: DbOpt = None,
    format: FormatOpt = Format.text,
) -> None:
    """The entity behind an address: cluster, labels, balances, first/last seen, top counterparties.

    JSON: {address, chain, cluster{id, size, heuristics{}, members[]{address, heuristic, evidence_tx}},
    label{label, category, actor, source, confidence, via}|null, entity, tags[], deposit_of|null,
    balances[]{asset, symbol, decimals, amount}, first_seen, last_seen, transfers,
    counterparties[]{address, asset, symbol, sent, received, transfers, usd, label}}. Amounts are base-unit
    integers (strings beyond 2^53).
    """
    con = store.connect(db)
    e = entity_of(con, address, chain, top=top)
    if format == Format.json:
        print_json(e)
        return
    c = e["cluster"]
    lab = e["label"]
    out.print(f"{e['address']} on {e['chain']}: entity {e['entity'] or 'unknown'}"
              + (f" ({lab['label']} [{lab['category']}] via {lab['via']})" if lab else ""))
    out.print(f"cluster {c['id'] if c['id'] is not None else '-'}: {c['size']} addresses "
              f"({', '.join(f'{k} {v}' for k, v in c['heuristics'].items())})")
    if e["deposit_of"]:
        d = e["deposit_of"]
        out.print(f"deposit address of {d['exchange']} (sweeps to {d['hot_wallet']}; e.g. tx {d['evidence_txs'][0]})")
    out.print(f"seen {e['first_seen']} .. {e['last_seen']} in {e['transfers']} transfers")
    out.print(table("balances", ["asset", "symbol", "amount (base units)"],
                    [[b["asset"], b["symbol"], b["amount"]] for b in e["balances"]]))
    out.print(table("top counterparties", ["address", "label", "asset", "sent", "received", "transfers", "usd"],
                    [[r["address"], r["label"], r["symbol"] or r["asset"], r["sent"], r["received"], r["transfers"],
                      f"{r['usd']:.2f}" if r["usd"] is not None else ""] for r in e["counterparties"]]))
