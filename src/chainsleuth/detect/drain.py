"""Drain-wave detection: many unrelated, long-lived wallets emptied into a few fresh addresses at once.

The pattern is the signature of a key or seed compromise at a wallet provider or of a wallet-drainer kit:
Atomic Wallet (June 2023, >5,000 victims drained within hours into a handful of fresh addresses that then
consolidated; Elliptic, "North Korea's Lazarus Group identified as exploiters behind $35 million Atomic
Wallet hack", 2023-06-06), Slope/Solana (Aug 2022) and the LastPass-linked drains (2022-2023) all show it.

Method (set-based over the ledger, one pass per chain):

1. *Flows*: every value movement as (time, tx, from, to, asset, amount) - account transfers plus the
   fee each sender paid (so native balances are right), or for UTXO chains an input-address -> output-address
   edge per transaction with the input's share of each output (plus its share of the fee).
2. *Candidate drain edges*: a transfer from a long-lived address (first seen at least ``min_victim_age``
   before) to a fresh one (first seen at most ``fresh_window`` before), neither labelled as a service.
3. *Drain sessions*: per sender, candidate edges closer than ``drain_window`` form one session; it is a
   drain if every asset it moved took at least ``drain_fraction`` of the sender's balance just before the
   session, across assets by USD where prices are known, into at most ``max_recipients_per_victim``
   addresses.
4. *Deposit sweeps removed*: recipients that pass at least ``sweep_share`` of what they later send straight
   to labelled services behave like exchange deposit addresses and are dropped.
5. *Waves*: drained victims and their recipients form a bipartite graph; each connected component (scipy),
   split where the victims' drains are more than ``wave_window`` apart, with at least ``min_victims``
   victims and few recipients per victim is an incident. Addresses that then receive from the recipients
   (consolidation, the "fan-in" step) join the attacker set.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from chainsleuth.detect.services import service_addresses
from chainsleuth.errors import ChainsleuthError

#: Temporary tables this module creates (dropped afterwards).
_TEMP = ("_dw_f", "_dw_first", "_dw_cand", "_dw_vs", "_dw_led", "_dw_bal", "_dw_px", "_dw_svc", "_dw_ok")


@dataclass(frozen=True)
class DrainParams:
    """Thresholds of drain-wave detection (defaults suit wallet-compromise waves; all configurable)."""

    min_victims: int = 5
    drain_fraction: float = 0.9
    min_victim_age: timedelta = timedelta(days=14)
    fresh_window: timedelta = timedelta(days=2)
    drain_window: timedelta = timedelta(hours=6)
    wave_window: timedelta = timedelta(days=2)
    max_recipients_per_victim: int = 3
    max_recipient_ratio: float = 0.5
    sweep_share: float = 0.9
    consolidation_window: timedelta = timedelta(days=30)
    merge_overlapping: bool = True

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: (v.total_seconds() if isinstance(v, timedelta) else v) for k, v in d.items()}


@dataclass
class Victim:
    address: str
    assets: list[dict]  # {asset, symbol, amount, balance_before, usd, tx_hashes}
    usd: float | None
    first_drain: datetime
    last_drain: datetime


@dataclass
class Incident:
    """One drain wave: who lost what, to whom, when, with the transactions that show it."""

    incident_id: str
    chain: str
    window_start: datetime
    window_end: datetime
    victims: list[Victim]
    attackers: list[dict]  # {address, role, first_seen, victims, tx_hashes}
    losses: list[dict]  # {asset, symbol, amount, usd}
    loss_usd: float | None
    consolidated: bool
    parameters: dict = field(default_factory=dict)
    kind: str = "drain-wave"
    stale: bool = False  # a reorg orphaned blocks it drew on since it was detected (chainsleuth.store.stale)

    def evidence(self) -> list[str]:
        txs = {h for v in self.victims for a in v.assets for h in a["tx_hashes"]}
        txs |= {h for a in self.attackers for h in a["tx_hashes"]}
        return sorted(txs)

    def to_dict(self) -> dict:
        return {
            "id": self.incident_id,
            "kind": self.kind,
            "chain": self.chain,
            "window": {"start": self.window_start, "end": self.window_end},
            "loss_usd": self.loss_usd,
            "losses": [{**x, "amount": str(x["amount"])} for x in self.losses],
            "victim_count": len(self.victims),
            "victims": [
                {
                    "address": v.address,
                    "usd": v.usd,
                    "first_drain": v.first_drain,
                    "last_drain": v.last_drain,
                    "assets": [
                        {**a, "amount": str(a["amount"]), "balance_before": str(a["balance_before"])}
                        for a in v.assets
                    ],
                }
                for v in self.victims
            ],
            "attackers": self.attackers,
            "consolidated": self.consolidated,
            "evidence": self.evidence(),
            "parameters": self.parameters,
            "stale": self.stale,
        }


def incident_id(chain: str, recipients: list[str], start: datetime) -> str:
    """Stable id: the same data and thresholds give the same id on every run."""
    key = f"{chain}|{','.join(sorted(recipients))}|{start.isoformat()}"
    return "INC-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def _flows_sql(model: str) -> str:
    if model == "account":
        return """
        SELECT block_time AS t, tx_hash, from_address AS src, to_address AS dst, asset, amount
        FROM transfers
        WHERE chain = $chain AND amount IS NOT NULL AND amount > 0
          AND (from_address IS NULL OR to_address IS NULL OR from_address <> to_address)
        UNION ALL
        SELECT block_time, hash, from_address, NULL, $native, fee
        FROM transactions WHERE chain = $chain AND fee > 0 AND from_address IS NOT NULL
        """
    return """
        WITH ins AS (
            SELECT tx_hash, address, CAST(sum(value) AS HUGEINT) AS v, min(block_time) AS t FROM utxo_inputs
            WHERE chain = $chain AND address IS NOT NULL AND value IS NOT NULL GROUP BY ALL),
        tin AS (SELECT tx_hash, sum(v) AS tin FROM ins GROUP BY 1),
        outs AS (
            SELECT tx_hash, address, CAST(sum(value) AS HUGEINT) AS v, min(block_time) AS t FROM utxo_outputs
            WHERE chain = $chain AND address IS NOT NULL GROUP BY ALL),
        tout AS (SELECT tx_hash, sum(v) AS tout FROM outs GROUP BY 1)
        SELECT o.t, o.tx_hash, i.address AS src, o.address AS dst, $native AS asset,
               CAST(o.v * i.v // tin.tin AS HUGEINT) AS amount
        FROM outs o JOIN ins i USING (tx_hash) JOIN tin USING (tx_hash)
        WHERE i.address <> o.address
        UNION ALL
        SELECT o.t, o.tx_hash, NULL, o.address, $native, o.v FROM outs o ANTI JOIN tin USING (tx_hash)
        UNION ALL
        SELECT i.t, i.tx_hash, i.address, NULL, $native,
               CAST((tin.tin - coalesce(tout.tout, 0)) * i.v // tin.tin AS HUGEINT)
        FROM ins i JOIN tin USING (tx_hash) LEFT JOIN tout USING (tx_hash)
        WHERE tin.tin > coalesce(tout.tout, 0)
        UNION ALL
        -- an address paying itself change still shows up as a party (first-seen), but moves no value
        SELECT i.t, i.tx_hash, i.address, NULL, $native, CAST(0 AS HUGEINT) FROM ins i
    """


def _drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    for t in _TEMP:
        con.execute(f"DROP TABLE IF EXISTS {t}")


def detect_drain_waves(
    con: duckdb.DuckDBPyConnection,
    chain: str,
    *,
    since: datetime | None = None,
    params: DrainParams | None = None,
) -> list[Incident]:
    """Find drain-wave incidents on ``chain`` whose drains happened at or after ``since``; ranked by loss."""
    p = params or DrainParams()
    row = con.execute("SELECT model, native_asset FROM chains WHERE chain = ?", [chain]).fetchall()
    if not row:
        raise ChainsleuthError(f"chain {chain!r} is not in the database")
    model, native = row[0]
    args = {"chain": chain, "native": native}
    try:
        return _detect(con, chain, model, args, since, p)
    finally:
        _drop_temp(con)


def _detect(con, chain, model, args, since, p: DrainParams) -> list[Incident]:
    _drop_temp(con)
    con.execute(f"CREATE TEMP TABLE _dw_f AS {_flows_sql(model)}", args)
    con.execute(
        """CREATE TEMP TABLE _dw_first AS
           SELECT a, min(t) AS first_seen FROM (
               SELECT src AS a, t FROM _dw_f WHERE src IS NOT NULL
               UNION ALL SELECT dst, t FROM _dw_f WHERE dst IS NOT NULL) GROUP BY a"""
    )
    svc = service_addresses(con, chain)
    con.register("_dw_svc_arrow", svc)
    con.execute("CREATE TEMP TABLE _dw_svc AS SELECT DISTINCT address FROM _dw_svc_arrow")
    con.unregister("_dw_svc_arrow")
    con.execute(
        """CREATE TEMP TABLE _dw_px AS
           SELECT a.asset, p.day, p.usd / pow(10, coalesce(a.decimals, 0)) AS usd_per_unit
           FROM assets a JOIN prices p ON upper(p.symbol) = upper(a.symbol) WHERE a.chain = $chain""",
        {"chain": chain},
    )
    con.execute(
        """CREATE TEMP TABLE _dw_cand AS
           SELECT f.t, f.tx_hash, f.src, f.dst, f.asset, f.amount, fd.first_seen AS dst_first
           FROM _dw_f f
           JOIN _dw_first fs ON fs.a = f.src
           JOIN _dw_first fd ON fd.a = f.dst
           WHERE f.amount > 0 AND f.t >= $since
             AND fs.first_seen <= f.t - $min_age
             AND fd.first_seen >= f.t - $fresh
             AND f.src NOT IN (SELECT address FROM _dw_svc)
             AND f.dst NOT IN (SELECT address FROM _dw_svc)""",
        {"since": since or datetime(1970, 1, 1), "min_age": p.min_victim_age, "fresh": p.fresh_window},
    )
    # drain sessions per sender, then per (victim, session, asset) totals
    con.execute(
        """CREATE TEMP TABLE _dw_vs AS
           WITH o AS (
               SELECT *, CASE WHEN t - lag(t) OVER (PARTITION BY src ORDER BY t, tx_hash) > $win
                         THEN 1 ELSE 0 END AS brk
               FROM _dw_cand),
           s AS (SELECT *, sum(brk) OVER (PARTITION BY src ORDER BY t, tx_hash
                                         ROWS UNBOUNDED PRECEDING) AS sess FROM o)
           SELECT src AS victim, sess, asset, sum(amount) AS drained, min(t) AS first_t, max(t) AS last_t,
                  list(DISTINCT tx_hash ORDER BY tx_hash) AS txs, list(DISTINCT dst ORDER BY dst) AS recips,
                  min(min(t)) OVER (PARTITION BY src, sess) AS start
           FROM s GROUP BY src, sess, asset""",
        {"win": p.drain_window},
    )
    con.execute(
        """CREATE TEMP TABLE _dw_led AS
           SELECT dst AS a, t, asset, amount AS delta FROM _dw_f
           WHERE dst IN (SELECT victim FROM _dw_vs)
           UNION ALL
           SELECT src, t, asset, -amount FROM _dw_f WHERE src IN (SELECT victim FROM _dw_vs)"""
    )
    con.execute(
        """CREATE TEMP TABLE _dw_bal AS
           WITH s AS (SELECT DISTINCT victim, sess, start FROM _dw_vs)
           SELECT s.victim, s.sess, s.start, l.asset, sum(l.delta) AS bal
           FROM s JOIN _dw_led l ON l.a = s.victim AND l.t < s.start
           GROUP BY ALL"""
    )
    # qualify each victim session: every moved asset mostly emptied, USD-weighted across assets too
    con.execute(
        """CREATE TEMP TABLE _dw_ok AS
           WITH j AS (
               SELECT v.*, coalesce(b.bal, 0) AS bal,
                      v.drained * px.usd_per_unit AS drained_usd
               FROM _dw_vs v
               LEFT JOIN _dw_bal b ON b.victim = v.victim AND b.sess = v.sess AND b.asset = v.asset
               LEFT JOIN _dw_px px ON px.asset = v.asset AND px.day = CAST(v.first_t AS DATE)),
           held AS (
               SELECT b.victim, b.sess, sum(b.bal * px.usd_per_unit) AS bal_usd
               FROM _dw_bal b JOIN _dw_px px ON px.asset = b.asset AND px.day = CAST(b.start AS DATE)
               WHERE b.bal > 0 GROUP BY ALL),
           per AS (
               SELECT victim, sess,
                      bool_and(bal > 0 AND drained >= $frac * bal) AS all_drained,
                      sum(drained_usd) AS drained_usd
               FROM j GROUP BY ALL),
           nr AS (SELECT victim, sess, count(DISTINCT r) AS n_recips
                  FROM _dw_vs, unnest(recips) AS u(r) GROUP BY ALL)
           SELECT j.* EXCLUDE (drained_usd), j.drained_usd AS usd
           FROM j JOIN per USING (victim, sess) JOIN nr USING (victim, sess) LEFT JOIN held USING (victim, sess)
           WHERE per.all_drained AND nr.n_recips <= $maxr
             AND (held.bal_usd IS NULL OR held.bal_usd <= 0 OR per.drained_usd IS NULL
                  OR per.drained_usd >= $frac * held.bal_usd)""",
        {"frac": p.drain_fraction, "maxr": p.max_recipients_per_victim},
    )
    # recipients that behave like deposit addresses (forward straight to services) are not attackers
    sweeping = {
        r[0]
        for r in con.execute(
            """WITH rc AS (SELECT DISTINCT unnest(recips) AS a FROM _dw_ok),
                    o AS (SELECT f.src AS a, f.amount, f.dst IN (SELECT address FROM _dw_svc) AS to_svc
                          FROM _dw_f f JOIN rc ON rc.a = f.src WHERE f.dst IS NOT NULL)
               SELECT a FROM o GROUP BY a
               HAVING sum(CASE WHEN to_svc THEN amount ELSE 0 END) >= $share * sum(amount)""",
            {"share": p.sweep_share},
        ).fetchall()
    }
    rows = con.execute(
        """SELECT victim, sess, min(start) AS start, list(DISTINCT r) AS recips
           FROM _dw_ok, unnest(recips) AS u(r) GROUP BY victim, sess"""
    ).fetchall()
    # onward links: recipients forwarding into the same fresh address belong to one operation
    links = con.execute(
        """WITH rc AS (SELECT r AS a, min(first_t) AS t0 FROM _dw_ok, unnest(recips) AS u(r) GROUP BY r)
           SELECT DISTINCT rc.a, f.dst FROM rc
           JOIN _dw_f f ON f.src = rc.a
           JOIN _dw_first fd ON fd.a = f.dst
           WHERE f.dst IS NOT NULL AND f.amount > 0 AND f.t >= rc.t0 AND f.t <= rc.t0 + $cw
             AND fd.first_seen >= f.t - $fresh AND f.dst NOT IN (SELECT address FROM _dw_svc)""",
        {"cw": p.consolidation_window, "fresh": p.fresh_window},
    ).fetchall()
    waves = _group_waves(rows, sweeping, p, [(a, b) for a, b in links if a not in sweeping],
                         _wallets(con, chain, model))
    return _build_incidents(con, chain, waves, p)


def _group_waves(
    rows: list[tuple], sweeping: set[str], p: DrainParams, links: list[tuple[str, str]] = (),
    wallet_of: dict[str, str] | None = None,
) -> list[dict]:
    """Connected components of the victim-session / recipient / consolidation graph, split in time."""
    sessions = []
    for victim, sess, start, recips in rows:
        rs = [r for r in recips if r not in sweeping]
        if rs:
            sessions.append((victim, sess, start, rs))
    if not sessions:
        return []
    recip_index: dict[str, int] = {}
    src, dst = [], []
    n = len(sessions)
    for i, (_, _, _, rs) in enumerate(sessions):
        for r in rs:
            j = recip_index.setdefault(r, n + len(recip_index))
            src.append(i)
            dst.append(j)
    onward: dict[str, int] = {}
    for a, b in links:
        if a in recip_index:
            j = recip_index.get(b)
            if j is None:
                j = onward.setdefault(b, n + len(recip_index) + len(onward))
            src.append(recip_index[a])
            dst.append(j)
    size = n + len(recip_index) + len(onward)
    graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    comps: dict[int, list[int]] = {}
    for i in range(n):
        comps.setdefault(int(labels[i]), []).append(i)
    waves = []
    for members in comps.values():
        members.sort(key=lambda i: sessions[i][2])
        group: list[int] = []
        last = None
        for i in members:
            start = sessions[i][2]
            if last is not None and start - last > p.wave_window:
                waves.append(group)
                group = []
            group.append(i)
            last = start
        waves.append(group)
    wallet_of = wallet_of or {}
    kept = []
    for group in waves:
        wallets = {wallet_of.get(sessions[i][0], sessions[i][0]) for i in group}
        recips = {r for i in group for r in sessions[i][3]}
        if len(wallets) < p.min_victims or len(recips) > p.max_recipient_ratio * len(wallets):
            continue
        kept.append((min(sessions[i][2] for i in group), max(sessions[i][2] for i in group), group))
    # simultaneous waves are one incident: a compromise drains through several address groups at once
    merged: list[list] = []
    for start, end, group in sorted(kept, key=lambda w: w[0]):
        if p.merge_overlapping and merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2] = merged[-1][2] + group
        else:
            merged.append([start, end, group])
    return [
        {"sessions": [(sessions[i][0], sessions[i][1]) for i in group],
         "recipients": sorted({r for i in group for r in sessions[i][3]})}
        for _, _, group in merged
    ]


def _wallets(con, chain: str, model: str) -> dict[str, str]:
    """UTXO chains: victim addresses spent together in one transaction belong to one wallet (multi-input
    heuristic; Meiklejohn et al., IMC 2013), so a user consolidating their own addresses into a fresh change
    address is one "victim", not many. Returns address -> wallet representative."""
    if model != "utxo":
        return {}
    rows = con.execute(
        """WITH v AS (SELECT DISTINCT victim FROM _dw_ok)
           SELECT list(DISTINCT i.address ORDER BY i.address) FROM utxo_inputs i JOIN v ON v.victim = i.address
           WHERE i.chain = $chain GROUP BY i.tx_hash HAVING count(DISTINCT i.address) > 1""",
        {"chain": chain},
    ).fetchall()
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.get(a, a) != a:
            parent[a] = parent.get(parent[a], parent[a])
            a = parent[a]
        return a

    for (addrs,) in rows:
        root = find(addrs[0])
        for a in addrs[1:]:
            ra = find(a)
            if ra != root:
                parent[ra] = root
    return {a: find(a) for a in list(parent)}


def _build_incidents(con, chain: str, waves: list[dict], p: DrainParams) -> list[Incident]:
    if not waves:
        return []
    sess_rows = [(k, v, s) for k, w in enumerate(waves) for v, s in w["sessions"]]
    rec_rows = [(k, r) for k, w in enumerate(waves) for r in w["recipients"]]
    con.register(
        "_dw_wsess",
        pa.table({"k": [r[0] for r in sess_rows], "victim": [r[1] for r in sess_rows],
                  "sess": [r[2] for r in sess_rows]}),
    )
    con.register("_dw_wrec", pa.table({"k": [r[0] for r in rec_rows], "a": [r[1] for r in rec_rows]}))
    try:
        vrows = con.execute(
            """SELECT w.k, o.victim, o.asset, a.symbol, o.drained, o.bal, o.usd, o.first_t, o.last_t, o.txs
               FROM _dw_ok o JOIN _dw_wsess w ON w.victim = o.victim AND w.sess = o.sess
               LEFT JOIN assets a ON a.chain = $chain AND a.asset = o.asset
               ORDER BY w.k, o.victim, o.asset""",
            {"chain": chain},
        ).fetchall()
        # recipients: which victims paid them, in which transactions
        rrows = con.execute(
            """SELECT w.k, w.a, fs.first_seen, count(DISTINCT c.src), list(DISTINCT c.tx_hash ORDER BY c.tx_hash)
               FROM _dw_wrec w JOIN _dw_cand c ON c.dst = w.a
               JOIN _dw_wsess s ON s.k = w.k AND s.victim = c.src
               JOIN _dw_first fs ON fs.a = w.a
               GROUP BY ALL"""
        ).fetchall()
        # consolidation: non-service addresses that receive from the wave's recipients (>= 2 of them, or the
        # only one) within consolidation_window of the wave
        crows = con.execute(
            """WITH st AS (SELECT k, min(o.first_t) AS t0 FROM _dw_ok o JOIN _dw_wsess w
                              ON w.victim = o.victim AND w.sess = o.sess GROUP BY k),
                    nrec AS (SELECT k, count(*) AS n FROM _dw_wrec GROUP BY k),
                    e AS (SELECT w.k, f.src, f.dst, f.tx_hash FROM _dw_wrec w
                          JOIN _dw_f f ON f.src = w.a JOIN st ON st.k = w.k
                          WHERE f.dst IS NOT NULL AND f.t >= st.t0 AND f.t <= st.t0 + $cw
                            AND f.dst NOT IN (SELECT address FROM _dw_svc)
                            AND f.dst NOT IN (SELECT a FROM _dw_wrec x WHERE x.k = w.k))
               SELECT e.k, e.dst, fs.first_seen, count(DISTINCT e.src),
                      list(DISTINCT e.tx_hash ORDER BY e.tx_hash)
               FROM e JOIN nrec USING (k) JOIN _dw_first fs ON fs.a = e.dst
               GROUP BY e.k, e.dst, fs.first_seen, nrec.n
               HAVING count(DISTINCT e.src) >= least(2, nrec.n)""",
            {"cw": p.consolidation_window},
        ).fetchall()
    finally:
        con.unregister("_dw_wsess")
        con.unregister("_dw_wrec")
    incidents = []
    params = p.to_dict()
    for k, w in enumerate(waves):
        victims: dict[str, Victim] = {}
        losses: dict[str, dict] = {}
        for kk, victim, asset, symbol, drained, bal, usd, t0, t1, txs in vrows:
            if kk != k:
                continue
            v = victims.get(victim)
            if v is None:
                v = victims[victim] = Victim(victim, [], None, t0, t1)
            v.assets.append(
                {"asset": asset, "symbol": symbol, "amount": int(drained), "balance_before": int(bal),
                 "usd": usd, "tx_hashes": list(txs)}
            )
            if usd is not None:
                v.usd = (v.usd or 0.0) + usd
            v.first_drain, v.last_drain = min(v.first_drain, t0), max(v.last_drain, t1)
            loss = losses.setdefault(asset, {"asset": asset, "symbol": symbol, "amount": 0, "usd": None})
            loss["amount"] += int(drained)
            if usd is not None:
                loss["usd"] = (loss["usd"] or 0.0) + usd
        attackers = [
            {"address": a, "role": "recipient", "first_seen": fs, "victims": n, "tx_hashes": list(txs)}
            for kk, a, fs, n, txs in rrows if kk == k
        ]
        consolidation = [
            {"address": a, "role": "consolidation", "first_seen": fs, "victims": n, "tx_hashes": list(txs)}
            for kk, a, fs, n, txs in crows if kk == k
        ]
        vs = sorted(victims.values(), key=lambda v: (-(v.usd or 0.0), v.address))
        start = min(v.first_drain for v in vs)
        end = max(v.last_drain for v in vs)
        usd_known = [x["usd"] for x in losses.values() if x["usd"] is not None]
        incidents.append(
            Incident(
                incident_id=incident_id(chain, w["recipients"], start),
                chain=chain,
                window_start=start,
                window_end=end,
                victims=vs,
                attackers=sorted(attackers, key=lambda a: a["address"])
                + sorted(consolidation, key=lambda a: a["address"]),
                losses=sorted(losses.values(), key=lambda x: (-(x["usd"] or 0.0), x["asset"])),
                loss_usd=sum(usd_known) if usd_known else None,
                consolidated=bool(consolidation),
                parameters=params,
            )
        )
    incidents.sort(key=lambda i: (-(i.loss_usd or 0.0), i.window_start, i.incident_id))
    return incidents


def params_json(p: DrainParams) -> str:
    return json.dumps(p.to_dict(), sort_keys=True)
