"""Incidents: thefts and laundering by actor profiles, recorded as exact truth by the code that emits them.

Each incident keeps a small ledger of what it controls, per address and asset, split into *stolen* and
*clean* units (clean = the actor's own funds, e.g. gas money withdrawn from a mixer). Conventions, stated in
``docs/simulator.md`` too: gas is paid from clean ETH first, then from stolen ETH; value sent takes stolen
units first, then clean (each hop records both parts). Every move of stolen units is a *hop*; where stolen
value changes asset (DEX swap, bridge) the conversion is recorded, so per incident and asset::

    stolen + swapped_in + bridged_in == final + fees + swapped_out + bridged_out

holds exactly. Profiles:

* ``lazarus-like`` (Atomic Wallet / Harmony pattern): a drain wave over a few hours empties many victim
  wallets (ETH and tokens) into drain addresses; consolidation; token swaps to ETH on the DEX; bridge to
  Bitcoin; CoinJoin; peel chains paying exchange deposit addresses and an OTC desk.
* ``exploiter``: one large theft from a lending pool, then straight into the EVM mixer in fixed denominations
  over days; part withdrawn via relayers to fresh addresses, some of which cash out at exchanges.
* ``scammer``: many small payments from victims to scam addresses, forwarded after one or two hops to the
  scammer's exchange deposit addresses.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from chainsleuth.simulate.economy import COINJOIN_DENOM, MIX_DENOMS_WEI, TOKEN_IDX, World
from chainsleuth.simulate.encode import GWEI
from chainsleuth.simulate.evm import BRIDGE_LOCK, ERC20, EXPLOIT, GAS, MIX_DEPOSIT, SWAP, fee_at
from chainsleuth.simulate.utxo import UtxoEngine
from chainsleuth.simulate.world import BTC_BLOCK_S, DAY, EXCHANGES, TOKENS, convert

ETH_ASSETS = ("ETH", *TOKENS)


@dataclass
class Hop:
    chain: str
    tx: int  # transaction id in that chain's ledger (resolved to a hash when written)
    frm: int
    to: int
    asset: str
    amount: int  # stolen units moved
    kind: str
    clean: int = 0  # clean units moved alongside
    frm_all: list[int] | None = None


@dataclass
class Incident:
    id: str
    profile: str
    actor: str
    world: World
    victims: list[dict] = field(default_factory=list)
    attackers: list[tuple[str, int, str]] = field(default_factory=list)
    hops: list[Hop] = field(default_factory=list)
    fees: list[tuple[str, int, str, int]] = field(default_factory=list)  # chain, tx, asset, amount
    clean_in: list[dict] = field(default_factory=list)
    swaps: list[dict] = field(default_factory=list)
    bridges: list[dict] = field(default_factory=list)
    mixer_links: list[dict] = field(default_factory=list)
    stolen: dict[tuple[str, int, str], int] = field(default_factory=lambda: defaultdict(int))
    clean: dict[tuple[str, int, str], int] = field(default_factory=lambda: defaultdict(int))
    acct: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    times: list[int] = field(default_factory=list)
    utxos: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)  # (tx, vout) -> (addr, value)
    # every outflow (values and gas) per (chain, address, asset): what really left, chronology aside
    out: dict[tuple[str, int, str], int] = field(default_factory=lambda: defaultdict(int))
    btc_owner: int = -1  # the actor's owner id in the UTXO engine
    btc_deps: dict[int, int] = field(default_factory=dict)  # exchange -> the actor's bitcoin deposit address

    # -- ledger primitives ---------------------------------------------------------------------------------
    def new_eth(self, role: str) -> int:
        a = self.world.eth_book.one(f"attacker:{self.id}", role)
        self.attackers.append(("ethereum", a, role))
        return a

    def new_btc(self, role: str) -> int:
        a = self.world.btc_book.one(f"attacker:{self.id}", role, 0)
        self.attackers.append(("bitcoin", a, role))
        return a

    def bal(self, chain: str, addr: int, asset: str) -> int:
        return self.stolen[(chain, addr, asset)] + self.clean[(chain, addr, asset)]

    def theft(self, chain: str, tx: int, victim: int, to: int, asset: str, amount: int, t: int) -> None:
        self.victims.append(
            {"chain": chain, "address": victim, "asset": asset, "amount": amount, "tx": tx, "time": t}
        )
        self.acct[asset]["stolen"] += amount
        self.stolen[(chain, to, asset)] += amount
        self.hops.append(Hop(chain, tx, victim, to, asset, amount, "theft"))
        self.times.append(t)

    def pay_fee(self, chain: str, tx: int, addr: int, asset: str, amount: int) -> None:
        """Gas: clean units first, then stolen (recorded as fees burnt from stolen value)."""
        self.out[(chain, addr, asset)] += amount
        c = self.clean[(chain, addr, asset)]
        use_clean = min(c, amount)
        self.clean[(chain, addr, asset)] -= use_clean
        rest = amount - use_clean
        if rest:
            if self.stolen[(chain, addr, asset)] < rest:
                raise AssertionError(f"{self.id}: address {addr} cannot pay {amount} gas")
            self.stolen[(chain, addr, asset)] -= rest
            self.fees.append((chain, tx, asset, rest))
            self.acct[asset]["fees"] += rest

    def move(
        self,
        chain: str,
        tx: int,
        frm: int,
        to: int,
        asset: str,
        amount: int,
        kind: str,
        track_to: bool = True,
    ) -> Hop:
        """Send ``amount``: stolen units first, then clean. The receiver's share is tracked if ``track_to``."""
        s = self.stolen[(chain, frm, asset)]
        st = min(s, amount)
        cl = amount - st
        if self.clean[(chain, frm, asset)] < cl:
            raise AssertionError(f"{self.id}: address {frm} cannot send {amount} {asset}")
        self.stolen[(chain, frm, asset)] -= st
        self.clean[(chain, frm, asset)] -= cl
        self.out[(chain, frm, asset)] += amount
        if track_to:
            self.stolen[(chain, to, asset)] += st
            self.clean[(chain, to, asset)] += cl
        h = Hop(chain, tx, frm, to, asset, st, kind, cl)
        if st:
            self.hops.append(h)
        return h

    # -- EVM actions ------------------------------------------------------------------------------------------
    def eth_send(
        self,
        t: int,
        frm: int,
        to: int,
        amount: int,
        kind: str = "transfer",
        track_to: bool = True,
        deposit_ex: int | None = None,
    ) -> int:
        w = self.world
        fee = int(fee_at(t, 21000))
        if deposit_ex is not None:
            tx = int(w.eth_deposit(t, frm, to, deposit_ex, amount // GWEI, amount % GWEI)[0])
            fee = int(fee_at(t, w.eth.tx["gas_used"][-1][-1]))
        else:
            tx = int(w.eth.add_txs(t, frm, to, vhi=amount // GWEI, vlo=amount % GWEI, gas_used=21000)[0])
        self.pay_fee("ethereum", tx, frm, "ETH", fee)
        self.move("ethereum", tx, frm, to, "ETH", amount, kind, track_to)
        self.times.append(t)
        return tx

    def eth_send_all(
        self,
        t: int,
        frm: int,
        to: int,
        kind: str = "transfer",
        track_to: bool = True,
        deposit_ex: int | None = None,
        keep: int = 0,
    ) -> int | None:
        """Send the whole ETH balance minus this transaction's gas (and ``keep``)."""
        gas = 31000 if deposit_ex is not None and EXCHANGES[deposit_ex][1] == "forwarder" else 21000
        amount = self.bal("ethereum", frm, "ETH") - int(fee_at(t, gas)) - keep
        if amount <= 0:
            return None
        return self.eth_send(t, frm, to, amount, kind, track_to, deposit_ex)

    def token_send(
        self,
        t: int,
        frm: int,
        to: int,
        token: str,
        amount: int,
        kind: str = "transfer",
        track_to: bool = True,
        deposit_ex: int | None = None,
    ) -> int:
        w = self.world
        gu = int(w.rng_inc.integers(GAS[ERC20][0], GAS[ERC20][1]))
        ti = TOKEN_IDX[token]
        if deposit_ex is not None:
            tx = int(w.token_deposit(t, frm, to, deposit_ex, ti, amount)[0])
            gu = int(w.eth.tx["gas_used"][-1][-1])
        else:
            tx = int(w.token_transfer(t, frm, to, ti, amount, gas_used=gu)[0])
        self.pay_fee("ethereum", tx, frm, "ETH", int(fee_at(t, gu)))
        self.move("ethereum", tx, frm, to, token, amount, kind, track_to)
        self.times.append(t)
        return tx

    def swap_to_eth(self, t: int, frm: int, token: str, amount: int) -> int:
        w = self.world
        day = int(w.day(t))
        out = convert(amount, token, "ETH", day, w.prices, keep=0.997)
        gu = int(w.rng_inc.integers(GAS[SWAP][0], GAS[SWAP][1]))
        tx = int(w.swap_token_for_eth(t, frm, TOKEN_IDX[token], amount, out // GWEI, out % GWEI)[0])
        w.eth.tx["gas_used"][-1][-1] = gu
        self.pay_fee("ethereum", tx, frm, "ETH", int(fee_at(t, gu)))
        h = self.move("ethereum", tx, frm, w.dex, token, amount, "swap", track_to=False)
        share = out * h.amount // amount  # stolen share of what comes back
        self.stolen[("ethereum", frm, "ETH")] += share
        self.clean[("ethereum", frm, "ETH")] += out - share
        self.hops.append(Hop("ethereum", tx, w.dex, frm, "ETH", share, "swap", out - share))
        self.acct[token]["swapped_out"] += h.amount
        self.acct["ETH"]["swapped_in"] += share
        self.swaps.append(
            {
                "chain": "ethereum",
                "tx": tx,
                "address": frm,
                "asset_in": token,
                "amount_in": h.amount,
                "asset_out": "ETH",
                "amount_out": share,
            }
        )
        self.times.append(t)
        return tx

    # -- UTXO actions -----------------------------------------------------------------------------------------
    def utxo_spend(
        self,
        eng: UtxoEngine,
        refs: list[tuple[int, int]],
        outputs: list[tuple[int, int, int, str]],
        change: int | None,
        feerate: int,
        change_kind: str = "transfer",
    ) -> tuple[int, list[tuple[int, int]]]:
        """Spend attacker outputs ``refs``; ``outputs`` = [(addr, value, owner, kind)]; change to ``change``."""
        idx = np.array([eng.find(tx, v) for tx, v in refs])
        ins = [self.utxos.pop(r) for r in refs]
        res = eng.pay(
            self.btc_owner,
            [(a, v, o) for a, v, o, _ in outputs],
            inputs=idx,
            change_addr=change,
            feerate=feerate,
        )
        if res is None:
            raise AssertionError(f"{self.id}: cannot pay {outputs}")
        tx, outs, fee = res
        total_in = sum(v for _, v in ins)
        paid = sum(v for _, v, _, _ in outputs)
        frm_all = [a for a, _ in ins]
        for (_addr, val), _ref in zip(ins, refs, strict=True):
            self.stolen[("bitcoin", _addr, "BTC")] -= val
        for (a, v, o, kind), ref in zip(outputs, outs, strict=True):
            self.stolen[("bitcoin", a, "BTC")] += v
            self.hops.append(
                Hop("bitcoin", tx, frm_all[0], a, "BTC", v, kind, 0, frm_all if len(frm_all) > 1 else None)
            )
            if o == self.btc_owner:
                self.utxos[ref] = (a, v)
        ch_val = total_in - paid - fee
        if ch_val > 0:
            self.stolen[("bitcoin", change, "BTC")] += ch_val
            self.hops.append(
                Hop(
                    "bitcoin",
                    tx,
                    frm_all[0],
                    change,
                    "BTC",
                    ch_val,
                    change_kind,
                    0,
                    frm_all if len(frm_all) > 1 else None,
                )
            )
            self.utxos[(tx, len(outputs))] = (change, ch_val)
        if fee:
            self.fees.append(("bitcoin", tx, "BTC", fee))
            self.acct["BTC"]["fees"] += fee
        self.times.append(int(eng.round * eng.bpr * BTC_BLOCK_S))
        return tx, outs


# ------------------------------------------------------------------------------------------------ profiles
def plan_incidents(w: World) -> list[Incident]:
    """Create every requested incident; EVM legs now, UTXO legs scheduled on the round engine."""
    out: list[Incident] = []
    rng = w.rng_inc
    holders = rng.permutation(len(w.holders))
    w.holder_cursor = 0
    w._holder_perm = holders
    btc_owner = w.n_owners
    names = {"lazarus-like": "Lazarus", "exploiter": "Exploiter", "scammer": "Scam crew"}
    for profile, count in w.cfg.incidents:
        for i in range(count):
            inc = Incident(f"{profile}-{i + 1}", profile, f"{names[profile]} {chr(65 + i)} (simulated)", w)
            inc.btc_owner = btc_owner
            btc_owner += 1
            {"lazarus-like": _lazarus, "exploiter": _exploiter, "scammer": _scammer}[profile](w, inc)
            out.append(inc)
    w.n_owners = btc_owner
    return out


def _take_holders(w: World, n: int) -> np.ndarray:
    idx = w._holder_perm[w.holder_cursor : w.holder_cursor + n]
    if len(idx) < n:
        raise AssertionError("not enough dormant holders for the requested incidents")
    w.holder_cursor += n
    return idx


def _start(w: World, rng: np.random.Generator, span_days: float) -> int:
    lo = w.cfg.quiet_until
    hi = max(lo + 1, w.cfg.end - int(span_days * DAY))
    return int(rng.integers(lo, hi))


def _funding(w: World, inc: Incident, t: int, to: int, denom_idx: int = 1) -> None:
    """The actor's own (clean) gas money: a genesis-funded address deposits into the mixer a few days
    earlier; a relayer withdraws it to ``to``."""
    rng = w.rng_inc
    src = inc.new_eth("funding")
    denom = MIX_DENOMS_WEI[denom_idx]
    w.eth.add_genesis(src, (denom + 10**17) // GWEI, 0)
    t_dep = t - int(rng.integers(2 * DAY, 4 * DAY))
    w.mixer_deposit(t_dep, src, denom_idx)
    relayer = int(w.relayers[rng.integers(0, len(w.relayers))])
    tx = int(w.mixer_withdraw(t, denom_idx, to, relayer)[0])
    got = denom - w.relayer_fee_gwei(denom_idx) * GWEI
    inc.clean[("ethereum", to, "ETH")] += got
    inc.clean_in.append(
        {
            "chain": "ethereum",
            "address": to,
            "asset": "ETH",
            "amount": got,
            "tx": tx,
            "source": "the actor's own funds, withdrawn from the mixer for gas",
        }
    )


def _lazarus(w: World, inc: Incident) -> None:
    rng = w.rng_inc
    k = w.cfg.k
    n_v = int(rng.integers(900, 1500) * min(1.0, k**0.3))
    vic = _take_holders(w, n_v)
    t0 = _start(w, rng, 9)
    wave = int(rng.integers(2 * 3600, 6 * 3600))
    drains = [inc.new_eth("drain") for _ in range(int(rng.integers(4, 10)))]
    assign = rng.integers(0, len(drains), n_v)
    times = np.sort(rng.integers(t0, t0 + wave, n_v))
    # the wave, vectorised: each victim's tokens first (one transfer each, 12 s apart), then all its ETH
    # minus the gas of every drain transaction (the drainer signs with the victim's key)
    victim = w.holders[vic]
    dst = np.array(drains)[assign]
    held = w.holder_tok[vic] > 0
    slot = np.cumsum(held, axis=1) - held
    gas_paid = np.zeros(n_v, dtype=np.int64)
    events = []
    for ti, tok in enumerate(TOKENS):
        m = np.flatnonzero(held[:, ti])
        tt = times[m] + 12 * slot[m, ti]
        gu = rng.integers(GAS[ERC20][0], GAS[ERC20][1], len(m))
        ids = w.token_transfer(tt, victim[m], dst[m], ti, w.holder_tok[vic[m], ti], gas_used=gu)
        gas_paid[m] += fee_at(tt, gu)
        events += [
            (int(a), int(b), int(c), tok, int(d), int(e))
            for a, b, c, d, e in zip(tt, ids, m, w.holder_tok[vic[m], ti], dst[m], strict=True)
        ]
    te = times + 12 * held.sum(axis=1)
    eth_amt = [
        int(w.holder_eth_wei[h]) - int(g) - int(f)
        for h, g, f in zip(vic.tolist(), gas_paid.tolist(), fee_at(te, 21000).tolist(), strict=True)
    ]
    hi = np.array([a // GWEI for a in eth_amt], dtype=np.int64)
    lo = np.array([a % GWEI for a in eth_amt], dtype=np.int64)
    ids = w.eth.add_txs(te, victim, dst, vhi=hi, vlo=lo, gas_used=21000)
    events += [
        (int(a), int(b), j, "ETH", eth_amt[j], int(dst[j]))
        for j, (a, b) in enumerate(zip(te, ids, strict=True))
    ]
    for t, tx, j, asset, amount, d in sorted(events):
        inc.theft("ethereum", tx, int(victim[j]), d, asset, amount, t)
    # consolidation (the consolidation address also holds a little of the actor's own gas money)
    t = t0 + wave + int(rng.integers(3600, 4 * 3600))
    cons = [inc.new_eth("consolidation") for _ in range(int(rng.integers(1, 3)))]
    _funding(w, inc, t - 1800, cons[0])
    for i, d in enumerate(drains):
        c = cons[i % len(cons)]
        for tok in TOKENS:
            amt = inc.stolen[("ethereum", d, tok)]
            if amt > 0:
                inc.token_send(t, d, c, tok, amt)
                t += 24
        inc.eth_send_all(t, d, c)
        t += 24
    # swaps on the DEX, in chunks
    t += int(rng.integers(1800, 3 * 3600))
    for c in cons:
        for tok in TOKENS:
            amt = inc.stolen[("ethereum", c, tok)]
            if amt <= 0:
                continue
            parts = _split(rng, amt, int(rng.integers(2, 6)))
            for p in parts:
                inc.swap_to_eth(t, c, tok, p)
                t += int(rng.integers(60, 900))
    # bridge most ETH to bitcoin, a slice to the OTC desk, the rest stays
    t += int(rng.integers(1800, 6 * 3600))
    for c in cons:
        total = inc.stolen[("ethereum", c, "ETH")]
        bridged = int(total * rng.uniform(0.78, 0.9))
        otc = int(total * rng.uniform(0.03, 0.08))
        for p in _split(rng, bridged, int(rng.integers(4, 12))):
            p = p // 10**15 * 10**15  # round figures
            gu = int(rng.integers(GAS[BRIDGE_LOCK][0], GAS[BRIDGE_LOCK][1]))
            tx = int(w.bridge_lock_eth(t, c, p // GWEI, p % GWEI)[0])
            w.eth.tx["gas_used"][-1][-1] = gu
            inc.pay_fee("ethereum", tx, c, "ETH", int(fee_at(t, gu)))
            h = inc.move("ethereum", tx, c, w.bridge_lock, "ETH", p, "bridge_lock", track_to=False)
            inc.acct["ETH"]["bridged_out"] += h.amount
            sat = w.bridge_out_sat(p, "ETH", int(w.day(t + 3600)))
            w.extra_bridge_btc += sat
            _btc_release(w, inc, t + int(rng.integers(1200, 2 * 3600)), p, h, tx)
            t += int(rng.integers(300, 2400))
        inc.eth_send(t, c, w.otc, otc // 10**16 * 10**16, "cashout", track_to=True)
        t += 600


def _btc_release(w: World, inc: Incident, t: int, amount: int, lock_hop: Hop, lock_tx: int) -> None:
    """Bridge release to a fresh attacker address, then CoinJoin and peel chains."""
    rng = w.rng_inc
    state: dict = {}

    def on_done(what: str, res=None, sat: int = 0, to: int = 0):
        if what == "address":
            state["to"] = inc.new_btc("bridge_recipient")
            return state["to"], inc.btc_owner
        tx, outs, _fee = res
        # a lock of purely stolen ETH makes the whole release stolen; a mixed lock splits pro rata
        share = sat if lock_hop.clean == 0 else sat * lock_hop.amount // (lock_hop.amount + lock_hop.clean)
        inc.hops.append(Hop("bitcoin", tx, w.bridge_btc_out, to, "BTC", share, "bridge_release", sat - share))
        inc.stolen[("bitcoin", to, "BTC")] += share
        inc.clean[("bitcoin", to, "BTC")] += sat - share
        inc.acct["BTC"]["bridged_in"] += share
        inc.bridges.append(
            {
                "lock_chain": "ethereum",
                "lock_tx": lock_tx,
                "asset_in": "ETH",
                "amount_in": lock_hop.amount,
                "release_chain": "bitcoin",
                "release_tx": tx,
                "asset_out": "BTC",
                "amount_out": share,
            }
        )
        inc.utxos[outs[0]] = (to, sat)
        w.btc.at(w.btc.round + int(rng.integers(1, 4)), lambda e, r: _coinjoin_enrol(w, inc, e, [outs[0]]))

    w.schedule_btc_release(t, amount, "ETH", on_done)


def _coinjoin_enrol(w: World, inc: Incident, eng: UtxoEngine, refs: list[tuple[int, int]]) -> None:
    def mixed(tx: int, outs: list[tuple[int, int, int]], coord: int, fee: int, tot: int, _n: int) -> None:
        ins = [inc.utxos.pop(r) for r in refs]
        frm_all = [a for a, _ in ins]
        for a, v in ins:
            inc.stolen[("bitcoin", a, "BTC")] -= v
        postmix = []
        for addr, val, vout in outs:
            inc.attackers.append(("bitcoin", addr, "postmix" if val == COINJOIN_DENOM else "coinjoin_change"))
            inc.stolen[("bitcoin", addr, "BTC")] += val
            inc.hops.append(
                Hop(
                    "bitcoin",
                    tx,
                    frm_all[0],
                    addr,
                    "BTC",
                    val,
                    "coinjoin",
                    0,
                    frm_all if len(frm_all) > 1 else None,
                )
            )
            inc.utxos[(tx, vout)] = (addr, val)
            postmix.append((tx, vout))
        coord_addr = w.coordinator
        inc.stolen[("bitcoin", coord_addr, "BTC")] += coord
        inc.hops.append(Hop("bitcoin", tx, frm_all[0], coord_addr, "BTC", coord, "mixer_fee", 0))
        inc.fees.append(("bitcoin", tx, "BTC", fee))
        inc.acct["BTC"]["fees"] += fee
        assert sum(v for _, v in ins) == sum(v for _, v, _ in outs) + coord + fee
        eng.at(eng.round + int(w.rng_inc.integers(2, 8)), lambda e, r: _peel_chains(w, inc, e, postmix))

    w.cj_queue.append({"owner": inc.btc_owner, "idx": refs, "cb": mixed, "name": f"attacker:{inc.id}"})


def _peel_chains(w: World, inc: Incident, eng: UtxoEngine, refs: list[tuple[int, int]]) -> None:
    """Merge post-mix outputs in groups, then peel: each step pays an exchange deposit address (the actor's
    accounts) or the OTC desk, change to a fresh address, one step per round."""
    rng = w.rng_inc
    refs = [r for r in refs if r in inc.utxos]
    rng.shuffle(refs)
    groups, i = [], 0
    while i < len(refs):
        n = int(rng.integers(3, 10))
        groups.append(refs[i : i + n])
        i += n
    for g in groups:
        if not g:
            continue
        head = inc.new_btc("peel")
        tx, outs = inc.utxo_spend(
            eng,
            g,
            [(head, sum(inc.utxos[r][1] for r in g) - 3000 * len(g), inc.btc_owner, "transfer")],
            None,
            10,
        )
        steps = int(rng.integers(4, 12))
        eng.at(eng.round + 1, _peel_step(w, inc, outs[0], steps))


def _attacker_deposit_btc(w: World, inc: Incident) -> tuple[int, int, int]:
    """A deposit address at an exchange opened by the actor (owned by the exchange, attacker's account)."""
    rng = w.rng_inc
    e = int(rng.integers(0, len(EXCHANGES)))
    if e not in inc.btc_deps:
        a = w.btc_book.one(f"exchange:{EXCHANGES[e][0]}", "deposit", 0)
        w.services[(EXCHANGES[e][0], "bitcoin")].add("deposit", a)
        inc.attackers.append(("bitcoin", a, "exchange_deposit"))
        inc.btc_deps[e] = a
    return inc.btc_deps[e], int(w.o_ex[e]), e


def _peel_step(w: World, inc: Incident, ref: tuple[int, int], left: int):
    def step(eng: UtxoEngine, r: int) -> None:
        rng = w.rng_inc
        addr, val = inc.utxos[ref]
        if left <= 0 or val < 30_000_000:
            if rng.random() < 0.5 and val > 5_000_000:  # the rest goes to the OTC desk
                inc.utxo_spend(eng, [ref], [(w.otc_btc, val - 4000, w.o_otc, "cashout")], None, 8)
            return
        peel = min(int(val * rng.uniform(0.05, 0.3)) // 100_000 * 100_000, val - 1_000_000)
        if rng.random() < 0.2:
            to, owner = w.otc_btc, w.o_otc
        else:
            to, owner, _e = _attacker_deposit_btc(w, inc)
        nxt = inc.new_btc("peel")
        tx, outs = inc.utxo_spend(
            eng, [ref], [(to, peel, owner, "cashout")], nxt, int(rng.integers(4, 20)), "peel"
        )
        eng.at(r + 1, _peel_step(w, inc, (tx, 1), left - 1))

    return step


def _exploiter(w: World, inc: Incident) -> None:
    rng = w.rng_inc
    t0 = _start(w, rng, 8)
    exp = inc.new_eth("exploiter")
    _funding(w, inc, t0 - 6 * 3600, exp)
    stolen = int(rng.integers(1500, 4000)) * 10**18 + int(rng.integers(0, 10**18))
    w.eth.add_genesis(w.lending, (stolen * 100 // int(rng.integers(70, 95))) // GWEI + 1, 0)
    gu = int(rng.integers(GAS[EXPLOIT][0], GAS[EXPLOIT][1]))
    tx = int(w.eth.add_txs(t0, exp, w.lending, call=EXPLOIT, gas_used=gu)[0])
    w.eth.add_traces(tx, w.lending, exp, stolen // GWEI, stolen % GWEI, 0)
    inc.pay_fee("ethereum", tx, exp, "ETH", int(fee_at(t0, gu)))
    inc.theft("ethereum", tx, w.lending, exp, "ETH", stolen, t0)
    # deposits in denominations over 1-4 days
    t = t0 + int(rng.integers(600, 3 * 3600))
    span = int(rng.integers(DAY, 4 * DAY))
    plan = []
    rest = stolen
    for di in (3, 2, 1, 0):
        n = int(rest // MIX_DENOMS_WEI[di])
        if di == 3:
            n = int(n * rng.uniform(0.85, 0.98))
        plan += [di] * n
        rest -= n * MIX_DENOMS_WEI[di]
    rng.shuffle(plan)
    times = np.sort(rng.integers(t, t + span, len(plan)))
    times = times + np.arange(len(plan)) * 24  # distinct blocks
    deposits = []
    for di, tt in zip(plan, times.tolist(), strict=True):
        denom = MIX_DENOMS_WEI[di]
        gu = int(rng.integers(GAS[MIX_DEPOSIT][0], GAS[MIX_DEPOSIT][1]))
        fee = int(fee_at(tt, gu))
        if inc.bal("ethereum", exp, "ETH") < denom + fee:
            continue
        tx = int(w.mixer_deposit(tt, exp, di)[0])
        w.eth.tx["gas_used"][-1][-1] = gu
        inc.pay_fee("ethereum", tx, exp, "ETH", fee)
        inc.move("ethereum", tx, exp, int(w.mix_pools[di]), "ETH", denom, "mixer_deposit")
        deposits.append((tx, di, tt))
    # withdrawals of a share of the notes, to fresh addresses, after at least a day
    frac = rng.uniform(0.3, 0.7)
    wd = [d for d in deposits if rng.random() < frac]
    n_dest = max(1, len(wd) // 5)
    dests = [inc.new_eth("withdrawal") for _ in range(n_dest)]
    wd_plan = []
    for tx_dep, di, tt in wd:
        tw = tt + int(rng.integers(DAY, 3 * DAY))
        if tw >= w.cfg.end - 2 * 3600:
            continue
        wd_plan.append((tw, tx_dep, di))
    wd_plan.sort()
    last_in: dict[int, int] = {}
    for j, (tw, tx_dep, di) in enumerate(wd_plan):
        dest = dests[j % n_dest]
        relayer = int(w.relayers[rng.integers(0, len(w.relayers))])
        tx = int(w.mixer_withdraw(tw, di, dest, relayer)[0])
        pool = int(w.mix_pools[di])
        relfee = w.relayer_fee_gwei(di) * GWEI
        denom = MIX_DENOMS_WEI[di]
        # pool -> recipient and pool -> relayer, stolen notes (the pool holds this actor's deposit)
        inc.stolen[("ethereum", pool, "ETH")] -= denom
        inc.stolen[("ethereum", dest, "ETH")] += denom - relfee
        inc.stolen[("ethereum", relayer, "ETH")] += relfee
        inc.hops.append(Hop("ethereum", tx, pool, dest, "ETH", denom - relfee, "mixer_withdraw"))
        inc.hops.append(Hop("ethereum", tx, pool, relayer, "ETH", relfee, "mixer_fee"))
        inc.mixer_links.append(
            {
                "chain": "ethereum",
                "deposit_tx": tx_dep,
                "withdraw_tx": tx,
                "pool": pool,
                "denomination": denom,
                "recipient": dest,
            }
        )
        last_in[dest] = max(last_in.get(dest, 0), tw)
    # about half of the withdrawal addresses cash out at an exchange
    for dest in dests:
        if dest in last_in and rng.random() < 0.6:
            e = int(rng.integers(0, len(EXCHANGES)))
            dep = w.eth_book.one(f"exchange:{EXCHANGES[e][0]}", "deposit")
            w.services[(EXCHANGES[e][0], "ethereum")].add("deposit", dep)
            w.dep_ids_list.append(np.array([dep]))
            w.dep_exchange_list.append(np.array([e]))
            inc.attackers.append(("ethereum", dep, "exchange_deposit"))
            inc.eth_send_all(
                last_in[dest] + int(rng.integers(3600, 12 * 3600)), dest, dep, "cashout", deposit_ex=e
            )


def _scammer(w: World, inc: Incident) -> None:
    rng = w.rng_inc
    k = w.cfg.k
    t0 = _start(w, rng, 8)
    span = int(rng.integers(3 * DAY, 6 * DAY))
    scam = [inc.new_eth("scam") for _ in range(int(rng.integers(1, 4)))]
    for s in scam:  # gas money from the scammer's own exchange account
        e = int(rng.integers(0, len(EXCHANGES)))
        gas = int(rng.integers(3, 8)) * 10**16
        tx = int(w.eth.add_txs(t0 - 3600, w.ex_hot[e], s, vhi=gas // GWEI, vlo=0, gas_used=21000)[0])
        inc.clean[("ethereum", s, "ETH")] += gas
        inc.clean_in.append(
            {
                "chain": "ethereum",
                "address": s,
                "asset": "ETH",
                "amount": gas,
                "tx": tx,
                "source": f"withdrawal from the actor's account at {EXCHANGES[e][0]}",
            }
        )
    n_v = int(rng.integers(40, 150) * min(1.0, k**0.3))
    vic = _take_holders(w, n_v)
    times = np.sort(rng.integers(t0, t0 + span, n_v)) + np.arange(n_v) * 12
    for j, h in enumerate(vic.tolist()):
        victim = int(w.holders[h])
        s = scam[j % len(scam)]
        t = int(times[j])
        if w.holder_tok[h, 0] > 0 and rng.random() < 0.5:
            amt = int(min(w.holder_tok[h, 0], int(rng.integers(100, 5000)) * 10**6))
            tx = int(
                w.token_transfer(
                    t, victim, s, 0, amt, gas_used=int(rng.integers(GAS[ERC20][0], GAS[ERC20][1]))
                )[0]
            )
            inc.theft("ethereum", tx, victim, s, "USDT", amt, t)
        else:
            amt = min(int(w.holder_eth_wei[h]) // 2 // 10**15 * 10**15, int(rng.integers(5, 200)) * 10**16)
            tx = int(w.eth.add_txs(t, victim, s, vhi=amt // GWEI, vlo=amt % GWEI, gas_used=21000)[0])
            inc.theft("ethereum", tx, victim, s, "ETH", amt, t)
    # forwarding: every ~half day, each scam address moves what it has via 1-2 hops to a deposit address
    deps: dict[int, int] = {}
    t = t0 + int(rng.integers(6 * 3600, 14 * 3600))
    end = max(t0 + span + DAY, t + DAY)
    while t < min(end, w.cfg.end - DAY // 2):
        for s in scam:
            # only what arrived before now is movable; recompute from victims received so far
            arrived = _arrived(inc, s, t)
            usdt = min(arrived["USDT"], inc.stolen[("ethereum", s, "USDT")])
            eth_avail = min(arrived["ETH"], inc.stolen[("ethereum", s, "ETH")])
            if usdt <= 0 and eth_avail < 10**16:
                continue
            mid = inc.new_eth("intermediate")
            e = int(rng.integers(0, len(EXCHANGES)))
            if e not in deps:
                dep = w.eth_book.one(f"exchange:{EXCHANGES[e][0]}", "deposit")
                w.services[(EXCHANGES[e][0], "ethereum")].add("deposit", dep)
                w.dep_ids_list.append(np.array([dep]))
                w.dep_exchange_list.append(np.array([e]))
                inc.attackers.append(("ethereum", dep, "exchange_deposit"))
                deps[e] = dep
            dep = deps[e]
            gas_for_mid = 2 * 52000 * 45 * GWEI + 21000 * 45 * GWEI
            # what the address really holds now: its gas money plus victims' payments so far, minus outflows
            onchain = (
                sum(c["amount"] for c in inc.clean_in if c["address"] == s)
                + _received(inc, s, t)["ETH"]
                - inc.out[("ethereum", s, "ETH")]
            )
            eth_send = min(max(eth_avail, 0) + gas_for_mid, onchain - 2 * 60000 * 45 * GWEI)
            if eth_send <= gas_for_mid:
                continue
            inc.eth_send(t, s, mid, eth_send)
            if usdt > 0:
                inc.token_send(t + 24, s, mid, "USDT", usdt)
            two_hops = rng.random() < 0.4
            nxt = inc.new_eth("intermediate") if two_hops else dep
            tt = t + int(rng.integers(600, 4 * 3600))
            if usdt > 0:
                inc.token_send(
                    tt,
                    mid,
                    nxt,
                    "USDT",
                    usdt,
                    "cashout" if not two_hops else "transfer",
                    deposit_ex=None if two_hops else e,
                )
            inc.eth_send_all(
                tt + 24,
                mid,
                nxt,
                "cashout" if not two_hops else "transfer",
                deposit_ex=None if two_hops else e,
            )
            if two_hops:
                tt += int(rng.integers(600, 3 * 3600))
                if usdt > 0:
                    inc.token_send(tt, nxt, dep, "USDT", usdt, "cashout", deposit_ex=e)
                inc.eth_send_all(tt + 24, nxt, dep, "cashout", deposit_ex=e)
        t += int(rng.integers(8 * 3600, 16 * 3600))


def _received(inc: Incident, addr: int, t: int) -> dict[str, int]:
    """Stolen units paid by victims to ``addr`` before ``t``."""
    got: dict[str, int] = defaultdict(int)
    for v, h in _theft_pairs(inc):
        if h.to == addr and v["time"] < t - 60:
            got[h.asset] += h.amount
    return got


def _arrived(inc: Incident, addr: int, t: int) -> dict[str, int]:
    """Stolen units that reached ``addr`` from victims before ``t``, minus stolen units that already left."""
    got = _received(inc, addr, t)
    sent: dict[str, int] = defaultdict(int)
    for h in inc.hops:
        if h.frm == addr and h.kind != "theft":
            sent[h.asset] += h.amount
    return {a: got[a] - sent[a] for a in ("ETH", "USDT")}


def _theft_pairs(inc: Incident):
    thefts = [h for h in inc.hops if h.kind == "theft"]
    return zip(inc.victims, thefts, strict=True)


def _split(rng: np.random.Generator, total: int, n: int) -> list[int]:
    """``total`` split into ``n`` uneven integer parts that add up exactly."""
    w = rng.dirichlet(np.ones(n) * 2)
    parts = [int(total * x) for x in w[:-1]]
    parts.append(total - sum(parts))
    return [p for p in parts if p > 0]


__all__ = ["Incident", "plan_incidents", "Hop", "ETH_ASSETS"]
