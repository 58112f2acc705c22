"""What tracing does at services: which labelled addresses stop a trace and how.

* exit: custodial services that can freeze or identify (chainsleuth.model.EXIT_CATEGORIES, plus gambling,
  payment and market operators, which pool customer funds the same way);
* mixer: an exit point whose tainted amount is reported, optionally followed by demixing;
* swap (DEX): taint sent in is carried to what the same transaction pays out;
* bridge: a lock, matched to its release on another chain;
* service: other contracts (DeFi) where value stops being traceable;
* burn: the zero and dead addresses.

Unlabelled addresses that forward (nearly) everything to one exchange wallet are exchange deposit addresses
(the "deposit address" heuristic of Victor 2020, "Address clustering heuristics for Ethereum", FC): the labels
package finds them ledger-wide (``deposit_addresses``); :func:`recognise_deposits` repeats the test on the
traced window so a trace recognises them even where that job has not run.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from chainsleuth.labels import address_labels
from chainsleuth.model import BURN_ADDRESSES, EXIT_CATEGORIES

ROLE_EXIT, ROLE_MIXER, ROLE_SWAP, ROLE_BRIDGE, ROLE_SERVICE, ROLE_BURN = "exit", "mixer", "swap", "bridge", \
    "service", "burn"
EXIT_LIKE = {str(c) for c in EXIT_CATEGORIES} | {"gambling", "payment", "market"}
CATEGORY_ROLE = {**dict.fromkeys(EXIT_LIKE, ROLE_EXIT), "mixer": ROLE_MIXER, "dex": ROLE_SWAP,
                 "bridge": ROLE_BRIDGE, "defi": ROLE_SERVICE}

#: Words that mark a label or entity as a perpetrator rather than a service (see ``load_labels``).
PERPETRATOR_RE = r"lazarus|bluenoroff|apt ?38|hacker|exploit|heist|drainer|ransom|scam|phish"

#: Non-custodial services: value they take in and pay out within one transaction passes through (a DEX swap,
#: a router, a bridge inbox forwarding to its bridge); taint follows it there.
PASS_THROUGH = frozenset({ROLE_SWAP, ROLE_BRIDGE, ROLE_SERVICE})

#: A deposit address forwards at least this share of what it sends to a single exchange wallet.
DEPOSIT_FORWARD_SHARE = 0.95
#: ... and has received from at least this many distinct senders over its history (a laundering hop that
#: forwards everything to an exchange has one).
DEPOSIT_MIN_SENDERS = 2


def labels_of(con: duckdb.DuckDBPyConnection, chain: str):
    """``chainsleuth.labels.address_labels`` (after consuming any pending result on the connection)."""
    con.execute("SELECT 1").fetchall()
    return address_labels(con, chain)


def labelled_roles(con: duckdb.DuckDBPyConnection, chain: str) -> pa.Table:
    """(address, label, category, entity, via, role) of every labelled address on ``chain`` and of the burn
    addresses: the role a trace gives each (``ROLE_*``; NULL: traced through). Shared by the DuckDB and the
    Spark tracers so that both stop at the same places."""
    labels = labels_of(con, chain)
    cases = " ".join(f"WHEN '{c}' THEN '{r}'" for c, r in CATEGORY_ROLE.items() if c != "sanctioned")
    # A sanctioned service (exchange, mixer) can freeze or absorb funds: an exit. A sanctioned *perpetrator*
    # wallet (OFAC's Lazarus Group addresses) is part of the laundering path itself: tracing goes on through it.
    perpetrator = "regexp_matches(lower(coalesce(l.entity, '') || ' ' || coalesce(l.label, '')), '" + PERPETRATOR_RE + "')"
    cases += f" WHEN 'sanctioned' THEN CASE WHEN {perpetrator} THEN NULL ELSE '{ROLE_EXIT}' END"
    burn = ", ".join(f"'{a}'" for a in BURN_ADDRESSES)
    with con.cursor() as cur:
        cur.register("_tr_labels_arrow", labels)
        return cur.sql(
            f"""SELECT l.address, l.label, l.category, l.entity, l.via,
                       CASE WHEN l.address IN ({burn}) THEN '{ROLE_BURN}' ELSE CASE l.category {cases} END END AS role
                FROM _tr_labels_arrow l
                UNION ALL
                SELECT b.address, NULL, NULL, NULL, NULL, '{ROLE_BURN}'
                FROM (SELECT unnest([{burn}]) AS address) b
                WHERE b.address NOT IN (SELECT address FROM _tr_labels_arrow)""").to_arrow_table()


def load_labels(con: duckdb.DuckDBPyConnection, chain: str, sources: list[str]) -> None:
    """Temp tables for the trace: ``_tr_lab`` (id, address, label, category, entity, via, role) for every
    labelled address in the chain's trace index, ``_tr_stop`` (ids a trace does not expand; sources never
    are) and ``_tr_swap`` (DEX ids)."""
    con.register("_tr_roles_arrow", labelled_roles(con, chain))
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _tr_lab AS
        SELECT n.id, r.address, r.label, r.category, r.entity, r.via, r.role
        FROM trace_nodes n JOIN _tr_roles_arrow r ON r.address = n.address
        WHERE n.chain = $chain""",
        {"chain": chain},
    )
    con.unregister("_tr_roles_arrow")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _tr_stop AS SELECT id FROM _tr_lab WHERE role IS NOT NULL "
        "AND address NOT IN (SELECT unnest(?::VARCHAR[]))",
        [sources],
    )
    roles = ", ".join(f"'{r}'" for r in sorted(PASS_THROUGH))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _tr_swap AS SELECT id FROM _tr_lab WHERE role IN ({roles})")


def label_map(con: duckdb.DuckDBPyConnection, ids: np.ndarray) -> dict[int, tuple]:
    """id -> (address, label, category, entity, via, role) for the labelled ones among ``ids``."""
    if ids.size == 0:
        return {}
    rows = con.execute(
        "SELECT id, address, label, category, entity, via, role FROM _tr_lab WHERE id IN (SELECT unnest(?::INTEGER[]))",
        [ids.astype(np.int64).tolist()],
    ).fetchall()
    return {int(r[0]): tuple(r[1:]) for r in rows}


def recognise_deposits(src: np.ndarray, dst: np.ndarray, active_src: np.ndarray, candidates: np.ndarray,
                       exchange_ids: np.ndarray) -> dict[int, int]:
    """Deposit address -> exchange wallet id, for unlabelled ``candidates`` at least
    :data:`DEPOSIT_FORWARD_SHARE` of whose outgoing transfers in the traced window (counted, so that assets
    with different units weigh alike) go to one exchange wallet."""
    sel = active_src & np.isin(src, candidates)
    if not sel.any():
        return {}
    df = pd.DataFrame({"s": src[sel], "d": dst[sel]})
    per = df.groupby(["s", "d"], sort=False).size().rename("n").reset_index()
    tot = per.groupby("s")["n"].sum()
    per = per[np.isin(per["d"].to_numpy(), exchange_ids)]
    if per.empty:
        return {}
    best = per.sort_values("n", ascending=False).drop_duplicates("s")
    share = best["n"].to_numpy() / tot.reindex(best["s"]).to_numpy()
    ok = share >= DEPOSIT_FORWARD_SHARE
    return dict(zip(best["s"].to_numpy()[ok].tolist(), best["d"].to_numpy()[ok].tolist(), strict=True))
