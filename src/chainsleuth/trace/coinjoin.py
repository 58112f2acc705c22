"""CoinJoin transactions on UTXO chains: recognise them, split them into participants, link post-mix outputs.

A CoinJoin (Maxwell 2013) pays many equal outputs of one denomination ``d`` to fresh addresses, plus change
back to each participant and a coordinator fee (Wasabi, Whirlpool/Whirlmix). Treating it as one ordinary
transaction spreads the taint of one participant over everybody's outputs (haircut) or taints them all
(poison). Instead:

* **Recognition** (structural, after BlockSci's CoinJoin test, Kalodner et al. 2020, "BlockSci: Design and
  applications of a blockchain analysis platform", USENIX Security): at least two distinct input addresses,
  at least :data:`MIN_EQUAL_OUTPUTS` outputs of one value, none of them paid back to an input address, and at
  least two participants explained by the sub-transaction test below.
* **Participants** (the sub-transaction model of Maurer, Neudecker & Florian 2017, "Anonymous CoinJoin
  Transactions with Arbitrary Values", TrustCom): the inputs of one address are one participant with value
  ``v``; its change is the output ``c`` (not of value ``d``) with ``v - c = k·d`` plus at most
  :data:`FEE_TOLERANCE` of ``k·d`` and its share of the miner fee. What a participant sends into the pool
  (``v - c``: ``k`` equal outputs plus fees) is *mixed*: the tracer reports it as a mixer exit, the change
  continues with its owner's taint exactly.
* **Post-mix linking** (the multi-input heuristic, Meiklejohn et al. 2013, "A Fistful of Bitcoins", applied
  across the mix as in Goldfeder, Kalodner, Reisman & Narayanan 2018, "When the cookie meets the blockchain",
  PETS): an equal output later spent in one transaction together with a participant's change belongs to that
  participant (certain under the heuristic). With ``--demix`` also a group of ``g`` equal outputs of one
  CoinJoin spent together without other evidence: under the same heuristic they have one owner, and each
  participant ``j`` with ``k_j`` equal outputs owns such a group with probability proportional to
  ``C(k_j, g)`` (uniform choice of which of its outputs were spent); a link is followed when that probability
  reaches the demix threshold.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from math import comb

import numpy as np

#: Fewest outputs of one value that make a CoinJoin (two could be a payment and change of equal size).
MIN_EQUAL_OUTPUTS = 3
#: Coordinator fee a participant may pay on top of its ``k·d`` (Wasabi 0.3 %; Whirlpool charges its fee in a
#: separate transaction); beyond this the input/change pair is not explained as a participant.
FEE_TOLERANCE = 0.01
#: Input addresses are also tried in groups of 2-3 (one participant spending several addresses) when a
#: CoinJoin has at most this many (the subset search is exponential; Maurer et al. bound it the same way).
MAX_SUBSET_SEARCH = 12


@dataclass
class Participant:
    address: str
    inputs: list[int]  # row indices (outputs this CoinJoin spends)
    value: int
    change: int | None  # row index of its change output
    change_value: int
    k: int  # equal outputs it bought
    linked: list[tuple[int, float, str]] = field(default_factory=list)  # (equal row, probability, signal)

    @property
    def mixed(self) -> int:
        """What the participant put into the pool: its inputs less its change."""
        return self.value - self.change_value


@dataclass
class CoinJoin:
    tx: str
    denomination: int
    equal: list[int]  # row indices of the equal outputs
    participants: list[Participant]
    unmatched_inputs: list[int]  # rows of inputs not explained as a participant
    coordinator: str | None = None  # a labelled mixer/coinjoin address the transaction pays, if any


def detect(rows: list[tuple], txs: set[str], fee_of: dict[str, int], mixer_addresses: set[str]) -> dict[str, CoinJoin]:
    """CoinJoins among ``txs``. ``rows``: the UTXO trace's output rows (tx, output_index, block, time, address,
    value, spending tx, ...); the inputs of a transaction are the rows it spends."""
    outs: dict[str, list[int]] = defaultdict(list)
    ins: dict[str, list[int]] = defaultdict(list)
    for k, r in enumerate(rows):
        if r[0] in txs:
            outs[r[0]].append(k)
        if r[6] is not None and r[6] in txs:
            ins[r[6]].append(k)
    found: dict[str, CoinJoin] = {}
    for tx, o in outs.items():
        i = ins.get(tx, [])
        if len(o) < MIN_EQUAL_OUTPUTS or len(i) < 2:
            continue
        in_addr = {rows[k][4] for k in i}
        if len(in_addr) < 2:
            continue
        d, m = Counter(int(rows[k][5]) for k in o).most_common(1)[0]
        if m < MIN_EQUAL_OUTPUTS or d <= 0:
            continue
        equal = [k for k in o if int(rows[k][5]) == d]
        if any(rows[k][4] in in_addr for k in equal):
            continue  # equal outputs back to a spender: a batch payment, not a mix
        cj = _split(tx, d, equal, o, i, rows, fee_of.get(tx, 0))
        if cj is not None and len(cj.participants) >= 2:
            cj.coordinator = next((rows[k][4] for k in o if rows[k][4] in mixer_addresses), None)
            found[tx] = cj
    return found


def _split(tx, d, equal, outs, ins, rows, fee) -> CoinJoin | None:
    by_addr: dict[str, list[int]] = defaultdict(list)
    for k in ins:
        by_addr[rows[k][4]].append(k)
    value = {a: sum(int(rows[k][5]) for k in ks) for a, ks in by_addr.items()}
    change_rows = [k for k in outs if int(rows[k][5]) != d]
    tol = fee + 1  # a participant's share of the miner fee: unknown, at most the whole fee
    cands = _candidates([(a,) for a in by_addr], value, change_rows, rows, d, len(equal))
    # a participant spending several addresses: small subsets of them (the sub-transaction search)
    groups = []
    if 2 <= len(by_addr) <= MAX_SUBSET_SEARCH:
        addrs = sorted(by_addr)
        groups = [g for size in (2, 3) for g in combinations(addrs, size)]
    more = _candidates(groups, value, change_rows, rows, d, len(equal))
    # single addresses vote first: subsets pair up by chance far more often than single inputs do
    rate = _common_rate(cands, tol, min_support=2)
    if rate is None:
        rate = _common_rate(cands + more, tol, min_support=2)
    if rate is None:
        return None
    parts: list[Participant] = []
    used_addr: set[str] = set()
    used_change: set[int] = set()
    budget = _assign(cands, rate, tol, by_addr, value, rows, parts, used_addr, used_change, len(equal))
    if budget > 0:
        _assign(more, rate, tol, by_addr, value, rows, parts, used_addr, used_change, budget)
    unmatched = [k for a, ks in by_addr.items() if a not in used_addr for k in ks]
    return CoinJoin(tx=tx, denomination=d, equal=equal, participants=parts, unmatched_inputs=unmatched)


def _candidates(groups, value, change_rows, rows, d, max_k) -> list[tuple]:
    """(excess, group, change row or None, k) for every input group and change output that could explain it:
    the group's value less the change is ``k`` denominations plus at most :data:`FEE_TOLERANCE` of them."""
    out = []
    for g in groups:
        v = sum(value[a] for a in g)
        for c in [*change_rows, None]:
            cv = int(rows[c][5]) if c is not None else 0
            n = (v - cv) // d
            excess = v - cv - n * d
            if 1 <= n <= max_k and excess <= FEE_TOLERANCE * n * d:
                out.append((excess, g, c, int(n)))
    return out


def _common_rate(cands, tol, min_support: int) -> float | None:
    """The coordinator's fee rate: every participant pays the same share of what it mixes, so the true
    pairings agree on one rate. Chosen as the candidate rate that explains the most change outputs (ties:
    the lowest rate); pairings without change do not vote (any round input would)."""
    with_change = [(e, c, n) for e, _g, c, n in cands if c is not None]
    if not with_change:
        return None
    e = np.array([x[0] for x in with_change], dtype=float)
    c = np.array([x[1] for x in with_change])
    n = np.array([x[2] for x in with_change], dtype=float)
    f = e / n
    best = None
    for i in np.argsort(f, kind="stable"):
        ok = np.abs(e - f[i] * n) <= tol
        support = np.unique(c[ok]).size
        if best is None or support > best[0]:
            best = (support, float(np.median(f[ok])))  # centre of the agreeing pairings
    return best[1] if best[0] >= min_support else None


def _assign(cands, rate, tol, by_addr, value, rows, parts, used_addr, used_change, budget) -> int:
    # pairings with a change output first (a participant without change is the rarer case), closest first
    fit = sorted((c is None, abs(e - rate * n), g, c, n) for e, g, c, n in cands if abs(e - rate * n) <= tol)
    for _none, _dev, g, c, n in fit:
        if any(a in used_addr for a in g) or (c is not None and c in used_change) or n > budget:
            continue
        used_addr.update(g)
        if c is not None:
            used_change.add(c)
        budget -= n
        cv = int(rows[c][5]) if c is not None else 0
        parts.append(Participant(address=g[0], inputs=[k for a in g for k in by_addr[a]],
                                 value=sum(value[a] for a in g), change=c, change_value=cv, k=n))
    return budget


def link_postmix(cjs: dict[str, CoinJoin], rows: list[tuple], demix: bool, min_probability: float) -> list[dict]:
    """Attach equal outputs to participants (``Participant.linked``) by co-spending; returns the evidence, one
    dict per link considered (``participant`` is the address whose inputs entered the CoinJoin)."""
    change_owner: dict[int, tuple[CoinJoin, Participant]] = {}
    for cj in cjs.values():
        for p in cj.participants:
            if p.change is not None:
                change_owner[p.change] = (cj, p)
    equal_of: dict[int, CoinJoin] = {k: cj for cj in cjs.values() for k in cj.equal}
    spends: dict[str, list[int]] = defaultdict(list)
    for k, r in enumerate(rows):
        if r[6] is not None and (k in equal_of or k in change_owner):
            spends[r[6]].append(k)
    evidence: list[dict] = []
    for sp, ks in spends.items():
        owners = [change_owner[k] for k in ks if k in change_owner]
        eq_by_cj: dict[str, list[int]] = defaultdict(list)
        for k in ks:
            if k in equal_of:
                eq_by_cj[equal_of[k].tx].append(k)
        for tx, eqs in eq_by_cj.items():
            cj = cjs[tx]
            own = next((p for c, p in owners if c is cj), None)
            if own is not None:  # spent with the participant's own change: certain under multi-input
                take = eqs[: max(own.k - len(own.linked), 0)]
                if take:
                    own.linked.extend((k, 1.0, "co-spent-with-change") for k in take)
                    evidence.append(_ev(cj, own, sp, take, 1.0, "co-spent-with-change"))
                continue
            if not demix:
                continue
            g = len(eqs)
            ways = [(comb(max(p.k - len(p.linked), 0), g), p) for p in cj.participants]
            total = sum(w for w, _ in ways)
            if total == 0:
                continue
            for w, p in ways:  # every participant that could own the group, with its probability
                if w:
                    evidence.append(_ev(cj, p, sp, eqs, w / total, "co-spent-equal-outputs"))
            w, best = max(ways, key=lambda x: x[0])
            if w / total >= min_probability:
                best.linked.extend((k, w / total, "co-spent-equal-outputs") for k in eqs)
    return evidence


def _ev(cj: CoinJoin, p: Participant, spender: str, eqs: list[int], prob: float, signal: str) -> dict:
    return {"coinjoin": cj, "participant": p, "spent_in": spender, "rows": eqs, "probability": prob,
            "signal": signal}
