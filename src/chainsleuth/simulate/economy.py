"""The background economy and the services everyone (incidents included) uses.

Non-negative balances are guaranteed by construction rather than by replaying the ledger:

* ordinary users spend only out of their own endowment (genesis allocation, token distribution), never out of
  what they receive, so ``balance >= endowment - outflows >= 0`` at every moment;
* pass-through addresses (exchange deposit addresses, mixer pools, attacker addresses, victims) move only what
  they received earlier, exactly;
* every service wallet that pays out (hot wallets, DEX pool, relayers, bridge payout, OTC desk, token
  treasuries) is endowed at genesis with more than everything it pays during the simulation, computed once
  all activity is known.

On the UTXO chain the round engine spends only existing outputs, so the same holds there. Activity is
heavy-tailed (Pareto activity per user, Zipf popularity of recipients) and amounts are the rounded figures
people type, except sweeps and drains, which move exact balances.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from chainsleuth.simulate import evm
from chainsleuth.simulate.encode import GWEI
from chainsleuth.simulate.evm import (
    BASEFEE_MAX,
    BRIDGE_LOCK,
    ERC20,
    ETH_SEND,
    FLUSH,
    FORWARDER_GAS,
    GAS,
    MINT,
    MIX_DEPOSIT,
    MIX_WITHDRAW,
    SWAP,
    EvmLedger,
    fee_at,
)
from chainsleuth.simulate.utxo import DUST, UtxoEngine, vsize
from chainsleuth.simulate.world import (
    ASSETS,
    BTC_BLOCK_S,
    DAY,
    EXCHANGES,
    TOKENS,
    AddressBook,
    Coded,
    Config,
    Numbered,
    Service,
    convert,
    make_prices,
)

MIX_DENOMS_WEI = (10**17, 10**18, 10**19, 10**20)  # 0.1, 1, 10, 100 ETH (Tornado Cash pools)
RELAYER_FEE = 0.003
BRIDGE_FEE = 0.001
BRIDGE_FIXED_SAT = 2_000
COINJOIN_DENOM = 10_000_000  # 0.1 BTC
COINJOIN_FEE = 0.003
TOKEN_UNIT = {t: 10 ** ASSETS[t][1] for t in TOKENS}
TOKEN_IDX = {t: i for i, t in enumerate(TOKENS)}


class JoinQueue:
    """CoinJoin enrolments in arrival order (``{owner, idx, cb, name?}``; ``cb`` set for an incident's actor).
    It holds thousands in a large world and is asked every round whether an actor waits: counted, not
    scanned."""

    def __init__(self) -> None:
        self._items: deque[dict] = deque()
        self.actors = 0

    def append(self, p: dict) -> None:
        self._items.append(p)
        self.actors += p["cb"] is not None

    def take(self, k: int) -> list[dict]:
        """Remove and return the first ``k`` (or all)."""
        out = [self._items.popleft() for _ in range(min(k, len(self._items)))]
        self.actors -= sum(p["cb"] is not None for p in out)
        return out

    def __len__(self) -> int:
        return len(self._items)


def weighted_sample(
    rng: np.random.Generator, items: np.ndarray, weights: np.ndarray, size: int
) -> np.ndarray:
    """``rng.choice(items, size, replace=False, p=weights / weights.sum())``: the same draws and the same
    result, by NumPy's algorithm (draw, keep first occurrences, zero the drawn weights, draw the rest again),
    pinned here. Faster on a large population: no validation passes over it, and the cumulative sums are
    not divided by their total (a draw ``x`` lands after every sum ``c`` with ``c / total <= x``: a binary
    search for ``x * total`` brackets it, and the few sums within rounding distance are divided exactly)."""
    p = weights / weights.sum()
    found = np.zeros(size, np.int64)
    n_found = 0
    while n_found < size:
        x = rng.random(size - n_found)
        if n_found:
            p[found[:n_found]] = 0
        cdf = np.cumsum(p)
        total = cdf[-1]
        if not total > 0:
            raise ValueError("fewer items with a positive weight than draws")
        y = x * total
        lo = np.searchsorted(cdf, y * (1 - 1e-9), "left")  # every sum below lo divides to <= x
        hi = np.searchsorted(cdf, y * (1 + 1e-9), "right")  # every sum from hi on divides to > x
        width = int((hi - lo).max())
        if width > 8:
            new = np.searchsorted(cdf / total, x, "right")
        else:
            near = lo[:, None] + np.arange(width)
            below = (near < hi[:, None]) & (cdf[np.minimum(near, len(cdf) - 1)] / total <= x[:, None])
            new = lo + below.sum(axis=1)
        _, first = np.unique(new, return_index=True)
        new = new[np.sort(first)]
        found[n_found : n_found + len(new)] = new
        n_found += len(new)
    return items[found]


def round_sig(x: np.ndarray, digits: np.ndarray | int) -> np.ndarray:
    """Round down to ``digits`` significant digits (the figures people type), as int64."""
    x = np.asarray(x, dtype=np.float64)
    q = np.power(10.0, np.floor(np.log10(np.maximum(x, 1))) - np.asarray(digits) + 1)
    return (np.floor(x / q) * q).astype(np.int64)


class World:
    """Both chains, their address books, the services, the prices and the deposit/mixer bookkeeping."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        ss = np.random.SeedSequence(cfg.seed)
        streams = ss.spawn(8)
        self.rng_addr_eth = np.random.default_rng(streams[0])
        self.rng_addr_btc = np.random.default_rng(streams[1])
        self.rng = np.random.default_rng(streams[2])  # background EVM
        self.rng_btc = np.random.default_rng(streams[3])  # background UTXO
        self.rng_inc = np.random.default_rng(streams[4])  # incidents
        self.rng_misc = np.random.default_rng(streams[5])
        self.prices = make_prices(np.random.default_rng(streams[6]), cfg.days + 1)
        self.eth_book = AddressBook("ethereum", self.rng_addr_eth)
        self.btc_book = AddressBook("bitcoin", self.rng_addr_btc)
        self.eth = EvmLedger(self.eth_book, cfg.seed)
        bpr = 6
        self.btc = UtxoEngine(self.btc_book, cfg.seed, self.rng_btc, bpr, cfg.end // (BTC_BLOCK_S * bpr))
        self.services: dict[tuple[str, str], Service] = {}
        self.endowed_eth: set[int] = set()
        self.eth_deposits: list[dict[str, np.ndarray]] = []  # recorded for sweeps
        self.token_supply = dict.fromkeys(TOKENS, 0)
        self.holder_cursor = 0  # victims are drawn from the dormant holders without repetition
        self._holder_perm = np.zeros(0, dtype=np.int64)
        self._setup_services()

    # ------------------------------------------------------------------------------------------- setup
    def svc(self, name: str, chain: str, category: str) -> Service:
        key = (name, chain)
        if key not in self.services:
            self.services[key] = Service(name, category, chain)
        return self.services[key]

    def _setup_services(self) -> None:
        eb, bb = self.eth_book, self.btc_book
        self.zero = eb.zero("null", "mint_burn")
        for t in TOKENS:
            issuer = eb.one(f"token:{t}", "issuer")
            contract = eb.one(f"token:{t}", "token_contract")
            treasury = eb.one(f"token:{t}", "treasury")
            self.eth.token_addr[t] = contract
            s = self.svc(f"{t} token", "ethereum", "token")
            s.add("contract", contract)
            s.add("issuer", issuer)
            s.add("treasury", treasury)
            s.tagged.update([contract])
            self.endowed_eth.update([issuer, treasury])
        self.token_contract = np.array([self.eth.token_addr[t] for t in TOKENS])
        self.builders = eb.new(3, Numbered("builder:", np.arange(3)), "fee_recipient")
        self.eth.builders = self.builders
        # exchanges
        self.ex_hot, self.ex_gas, self.ex_style, self.ex_btc_hot = [], [], [], []
        for name, style in EXCHANGES:
            s = self.svc(name, "ethereum", "exchange")
            hot = eb.one(f"exchange:{name}", "hot")
            gas = eb.one(f"exchange:{name}", "sweeper" if style == "forwarder" else "gas_station")
            s.add("hot", hot)
            s.add("sweeper" if style == "forwarder" else "gas_station", gas)
            s.tagged.update([hot])
            self.ex_hot.append(hot)
            self.ex_gas.append(gas)
            self.ex_style.append(style)
            self.endowed_eth.update([hot, gas])
            b = self.svc(name, "bitcoin", "exchange")
            bh = bb.one(f"exchange:{name}", "hot", 0)
            b.add("hot", bh)
            b.tagged.add(bh)
            self.ex_btc_hot.append(bh)
        # DEX
        s = self.svc("Uniswop", "ethereum", "dex")
        self.dex = eb.one("dex:Uniswop", "pool")
        s.add("pool", self.dex)
        s.tagged.add(self.dex)
        self.endowed_eth.add(self.dex)
        # EVM mixer: one pool per denomination + relayers
        s = self.svc("Tornadash", "ethereum", "mixer")
        self.mix_pools = eb.new(len(MIX_DENOMS_WEI), "mixer:Tornadash", "pool")
        self.relayers = eb.new(3, "mixer:Tornadash", "relayer")
        s.add("pool", self.mix_pools)
        s.add("relayer", self.relayers)
        s.tagged.update(self.mix_pools.tolist())
        s.tagged.add(int(self.relayers[0]))
        self.endowed_eth.update(self.relayers.tolist())
        # bridge
        s = self.svc("Wormbridge", "ethereum", "bridge")
        self.bridge_lock = eb.one("bridge:Wormbridge", "lock_contract")
        self.bridge_payout = eb.one("bridge:Wormbridge", "payout")
        s.add("lock_contract", self.bridge_lock)
        s.add("payout", self.bridge_payout)
        s.tagged.update([self.bridge_lock, self.bridge_payout])
        self.endowed_eth.add(self.bridge_payout)
        b = self.svc("Wormbridge", "bitcoin", "bridge")
        self.bridge_btc_in = bb.one("bridge:Wormbridge", "deposit", 0)
        self.bridge_btc_out = bb.one("bridge:Wormbridge", "payout", 0)
        b.add("deposit", self.bridge_btc_in)
        b.add("payout", self.bridge_btc_out)
        b.tagged.update([self.bridge_btc_in, self.bridge_btc_out])
        # OTC desk (tagged on ethereum only: its bitcoin address is not public)
        s = self.svc("Nordic OTC", "ethereum", "otc")
        self.otc = eb.one("otc:Nordic OTC", "desk")
        s.add("desk", self.otc)
        s.tagged.add(self.otc)
        self.endowed_eth.add(self.otc)
        b = self.svc("Nordic OTC", "bitcoin", "otc")
        self.otc_btc = bb.one("otc:Nordic OTC", "desk", 1)
        b.add("desk", self.otc_btc)
        # lending protocol (the exploiter's victim)
        s = self.svc("Lendora", "ethereum", "defi")
        self.lending = eb.one("defi:Lendora", "pool")
        s.add("pool", self.lending)
        s.tagged.add(self.lending)
        # coinjoin coordinator and miners on bitcoin
        b = self.svc("Whirlmix CoinJoin", "bitcoin", "mixer")
        self.coordinator = bb.one("mixer:Whirlmix", "coordinator", 0)
        b.add("coordinator", self.coordinator)
        b.tagged.add(self.coordinator)
        self.miners = []
        for pool in ("F2Pool-sim", "AntPool-sim", "ViaPool-sim"):
            m = self.svc(pool, "bitcoin", "miner")
            a = bb.one(f"miner:{pool}", "coinbase", 1)
            m.add("coinbase", a)
            m.tagged.add(a)
            self.miners.append(a)
        self.miners = np.array(self.miners)

    # ------------------------------------------------------------------------------- EVM service helpers
    def eth_transfer(self, t, frm, to, vhi, vlo, status=1, call=ETH_SEND) -> np.ndarray:
        return self.eth.add_txs(t, frm, to, call=call, vhi=vhi, vlo=vlo, status=status, rng=self.rng)

    def token_transfer(self, t, frm, to, token, amt, status=1, call=ERC20, gas_used=None) -> np.ndarray:
        """ERC-20 ``transfer``: tx to the token contract, one Transfer log when it succeeds."""
        token = np.broadcast_to(np.asarray(token), np.shape(np.atleast_1d(t)))
        ids = self.eth.add_txs(
            t,
            frm,
            self.token_contract[token],
            call=call,
            status=status,
            arg_to=to,
            arg_amt=amt,
            gas_used=gas_used,
            rng=self.rng,
        )
        ok = np.broadcast_to(np.asarray(status) == 1, ids.shape)
        self.eth.add_logs(
            ids[ok],
            token[ok],
            np.broadcast_to(frm, ids.shape)[ok],
            np.broadcast_to(to, ids.shape)[ok],
            np.broadcast_to(amt, ids.shape)[ok],
        )
        return ids

    def exchange_of_deposit(self, dep: np.ndarray) -> np.ndarray:
        return self.dep_exchange[np.searchsorted(self.dep_ids_sorted, dep)]

    def eth_deposit(self, t, frm, dep, ex, vhi, vlo, status=1) -> np.ndarray:
        """ETH into an exchange deposit address: forwarder contracts pass it on to the hot wallet in the same
        transaction (an internal call); EOA deposits are swept later."""
        t = np.atleast_1d(t)
        ex = np.broadcast_to(np.asarray(ex), t.shape)
        fwd = (
            np.array([self.ex_style[e] == "forwarder" for e in ex], dtype=bool)
            if len(t)
            else np.zeros(0, bool)
        )
        gas = np.where(fwd, FORWARDER_GAS, 21000)
        ids = self.eth.add_txs(t, frm, dep, vhi=vhi, vlo=vlo, status=status, gas_used=gas)
        ok = np.broadcast_to(np.asarray(status) == 1, ids.shape)
        vhi_b, vlo_b = np.broadcast_to(vhi, ids.shape), np.broadcast_to(vlo, ids.shape)
        dep_b = np.broadcast_to(dep, ids.shape)
        m = ok & fwd
        self.eth.add_traces(ids[m], dep_b[m], np.array(self.ex_hot)[ex[m]], vhi_b[m], vlo_b[m], 0)
        m = ok & ~fwd
        self.eth_deposits.append(
            {
                "t": t[m],
                "dep": dep_b[m],
                "ex": ex[m],
                "token": np.full(int(m.sum()), -1),
                "vhi": vhi_b[m],
                "vlo": vlo_b[m],
                "amt": np.zeros(int(m.sum()), np.int64),
            }
        )
        return ids

    def token_deposit(self, t, frm, dep, ex, token, amt, status=1) -> np.ndarray:
        ids = self.token_transfer(t, frm, dep, token, amt, status=status)
        t = np.atleast_1d(t)
        ok = np.broadcast_to(np.asarray(status) == 1, ids.shape)
        n = int(ok.sum())
        self.eth_deposits.append(
            {
                "t": t[ok],
                "dep": np.broadcast_to(dep, ids.shape)[ok],
                "ex": np.broadcast_to(ex, ids.shape)[ok],
                "token": np.broadcast_to(token, ids.shape)[ok],
                "vhi": np.zeros(n, np.int64),
                "vlo": np.zeros(n, np.int64),
                "amt": np.broadcast_to(amt, ids.shape)[ok],
            }
        )
        return ids

    def swap_eth_for_token(self, t, frm, vhi, vlo, token, out_amt, status=1) -> np.ndarray:
        ids = self.eth.add_txs(t, frm, self.dex, call=SWAP, vhi=vhi, vlo=vlo, status=status, rng=self.rng)
        ok = np.broadcast_to(np.asarray(status) == 1, ids.shape)
        self.eth.add_logs(
            ids[ok],
            np.broadcast_to(token, ids.shape)[ok],
            self.dex,
            np.broadcast_to(frm, ids.shape)[ok],
            np.broadcast_to(out_amt, ids.shape)[ok],
        )
        return ids

    def swap_token_for_eth(self, t, frm, token, amt, out_hi, out_lo, status=1) -> np.ndarray:
        """Token in to the pool (Transfer log) and ETH out to the trader (internal call), one transaction."""
        ids = self.eth.add_txs(t, frm, self.dex, call=SWAP, status=status, rng=self.rng)
        ok = np.broadcast_to(np.asarray(status) == 1, ids.shape)
        frm_b = np.broadcast_to(frm, ids.shape)
        self.eth.add_logs(
            ids[ok],
            np.broadcast_to(token, ids.shape)[ok],
            frm_b[ok],
            self.dex,
            np.broadcast_to(amt, ids.shape)[ok],
        )
        self.eth.add_traces(
            ids[ok],
            self.dex,
            frm_b[ok],
            np.broadcast_to(out_hi, ids.shape)[ok],
            np.broadcast_to(out_lo, ids.shape)[ok],
            0,
        )
        return ids

    def mixer_deposit(self, t, frm, denom_idx, status=1) -> np.ndarray:
        denom_idx = np.atleast_1d(denom_idx)
        gwei = np.array([d // GWEI for d in MIX_DENOMS_WEI])[denom_idx]
        return self.eth.add_txs(
            t, frm, self.mix_pools[denom_idx], call=MIX_DEPOSIT, vhi=gwei, vlo=0, status=status, rng=self.rng
        )

    def mixer_withdraw(self, t, denom_idx, recipient, relayer) -> np.ndarray:
        """Relayer submits the proof; the pool pays the recipient minus the relayer fee, and the relayer, by
        internal calls (Tornado Cash style). Returns the transaction ids."""
        denom_idx = np.atleast_1d(denom_idx)
        gwei = np.array([d // GWEI for d in MIX_DENOMS_WEI])[denom_idx]
        fee = (gwei * RELAYER_FEE).astype(np.int64)
        pools = self.mix_pools[denom_idx]
        ids = self.eth.add_txs(t, relayer, pools, call=MIX_WITHDRAW, rng=self.rng)
        self.eth.add_traces(ids, pools, recipient, gwei - fee, 0, 0)
        self.eth.add_traces(ids, pools, relayer, fee, 0, 1)
        return ids

    def relayer_fee_gwei(self, denom_idx: int) -> int:
        return int(MIX_DENOMS_WEI[denom_idx] // GWEI * RELAYER_FEE)

    def bridge_lock_eth(self, t, frm, vhi, vlo, status=1) -> np.ndarray:
        return self.eth.add_txs(
            t, frm, self.bridge_lock, call=BRIDGE_LOCK, vhi=vhi, vlo=vlo, status=status, rng=self.rng
        )

    def bridge_lock_token(self, t, frm, token, amt, status=1) -> np.ndarray:
        return self.token_transfer(t, frm, self.bridge_lock, token, amt, status=status)

    def bridge_out_sat(self, amount: int, asset: str, day: int) -> int:
        """BTC paid out for ``amount`` of ``asset`` locked on ``day``: USD value minus fees."""
        return max(convert(amount, asset, "BTC", day, self.prices, keep=1 - BRIDGE_FEE) - BRIDGE_FIXED_SAT, 0)

    def day(self, t: int | np.ndarray) -> np.ndarray:
        return np.minimum(np.asarray(t) // DAY, self.cfg.days)

    # ------------------------------------------------------------------------------------ EVM background
    def evm_background(self) -> None:
        cfg, rng, eb = self.cfg, self.rng, self.eth_book
        k = cfg.k
        n_active = int(16_000 * k**0.85)
        n_holders = int(6_000 * k**0.6) + 400 * sum(c for p, c in cfg.incidents if p == "lazarus-like") * 4
        end = cfg.end
        self.active = eb.new(n_active, Numbered("user:e", np.arange(n_active)), "user")
        self.holders = eb.new(n_holders, Numbered("user:h", np.arange(n_holders)), "user")
        # exchange accounts: deposit address per (user, exchange), reused for every deposit
        acct = rng.random((n_active, len(EXCHANGES))) < np.array([0.45, 0.25, 0.2])
        ui, ei = np.nonzero(acct)
        dep = eb.new(len(ui), Coded(tuple(f"exchange:{name}" for name, _ in EXCHANGES), ei), "deposit")
        self.dep_of = np.full((n_active, len(EXCHANGES)), -1, dtype=np.int64)
        self.dep_of[ui, ei] = dep
        self.dep_exchange_list = [ei]
        self.dep_ids_list = [dep]
        for e in range(len(EXCHANGES)):
            s = self.services[(EXCHANGES[e][0], "ethereum")]
            ids = dep[ei == e]
            s.add("deposit", ids)
            s.tagged.update(ids[rng.random(len(ids)) < 0.04].tolist())  # a few deposit addresses are public
        # endowments (gwei): heavy-tailed; tokens for a subset
        e_gwei = np.clip(rng.lognormal(np.log(0.6e9), 1.6, n_active), 2e7, 5e12).astype(np.int64)
        h_gwei = np.clip(rng.lognormal(np.log(1.5e9), 1.4, n_holders), 5e7, 2e12).astype(np.int64)
        # activity: Pareto, scaled to the transfer target
        act = np.minimum(rng.pareto(1.3, n_active) + 0.3, 400)
        target_events = 0.36 * cfg.transfers
        n_ev = rng.poisson(act / act.sum() * target_events)
        tok_hold = rng.random((n_active, 3)) < np.array([0.35, 0.25, 0.06])
        tok_amt = np.stack(
            [
                rng.lognormal(np.log(900), 1.7, n_active) * 1e6,
                rng.lognormal(np.log(700), 1.7, n_active) * 1e6,
                rng.lognormal(np.log(0.03), 1.3, n_active) * 1e8,
            ],
            axis=1,
        )
        tok_amt = np.where(tok_hold, round_sig(tok_amt, 3), 0).astype(np.int64)
        h_tok_hold = rng.random((n_holders, 3)) < np.array([0.5, 0.35, 0.12])
        h_tok = np.stack(
            [
                rng.lognormal(np.log(3000), 1.5, n_holders) * 1e6,
                rng.lognormal(np.log(2000), 1.5, n_holders) * 1e6,
                rng.lognormal(np.log(0.08), 1.2, n_holders) * 1e8,
            ],
            axis=1,
        )
        h_tok = np.where(h_tok_hold, round_sig(h_tok, 3), 0).astype(np.int64)
        self.holder_eth_wei = h_gwei.astype(object) * GWEI
        self.holder_tok = h_tok
        # split events between ETH and tokens
        tok_share = np.where(tok_hold.any(axis=1), 0.4, 0.0)
        n_tok_ev = rng.binomial(n_ev, tok_share)
        n_eth_ev = n_ev - n_tok_ev
        # ---- ETH events
        u = np.repeat(np.arange(n_active), n_eth_ev)
        m = len(u)
        cat = rng.choice(7, size=m, p=[0.55, 0.24, 0.08, 0.03, 0.03, 0.015, 0.055])
        # 0 p2p, 1 deposit, 2 swap eth->token, 3 mixer, 4 bridge, 5 otc, 6 contract-ish p2p to a popular address
        has_dep = (self.dep_of[u] >= 0).any(axis=1)
        cat = np.where((cat == 1) & ~has_dep, 0, cat)
        call_of_cat = np.array([ETH_SEND, ETH_SEND, SWAP, MIX_DEPOSIT, BRIDGE_LOCK, ETH_SEND, ETH_SEND])
        gas_cap = np.array([GAS[c][2] for c in range(9)])[call_of_cat[cat]]
        reserve = np.bincount(u, weights=gas_cap * (BASEFEE_MAX / GWEI), minlength=n_active)
        n_tok_gas = (
            np.bincount(np.repeat(np.arange(n_active), n_tok_ev), minlength=n_active)
            * GAS[ERC20][2]
            * (BASEFEE_MAX / GWEI)
        )
        reserve = (reserve + n_tok_gas + 1e6).astype(np.int64)
        e_gwei = np.maximum(e_gwei, 3 * reserve)
        budget = (0.9 * e_gwei - reserve) * rng.uniform(0.3, 1.0, n_active)
        share = rng.gamma(0.6, 1.0, m)
        share = share / np.maximum(np.bincount(u, weights=share, minlength=n_active), 1e-12)[u]
        value = round_sig(share * budget[u], rng.integers(2, 5, m))
        # mixer: denomination below the amount (else plain p2p)
        denoms_gwei = np.array([d // GWEI for d in MIX_DENOMS_WEI])
        di = np.searchsorted(denoms_gwei, value, side="right") - 1
        cat = np.where((cat == 3) & (di < 0), 0, cat)
        di = np.maximum(di, 0)
        value = np.where(cat == 3, denoms_gwei[di], value)
        cat = np.where((cat == 4) & (value < 5e7), 0, cat)
        value = np.maximum(value, 1000)
        t = rng.integers(900, end - 900, m)
        status = np.where(rng.random(m) < 0.015, 0, 1)
        popularity = 1.0 / np.arange(1, n_active + 1) ** 0.9
        popularity = rng.permutation(popularity / popularity.sum())
        frm = self.active[u]
        # p2p
        sel = np.flatnonzero((cat == 0) | (cat == 6))
        to = self.active[rng.choice(n_active, size=len(sel), p=popularity)]
        self.eth_transfer(t[sel], frm[sel], to, value[sel], 0, status[sel])
        # deposits: user's own deposit address (first exchange with an account, or a random one of them)
        sel = np.flatnonzero(cat == 1)
        deps = self.dep_of[u[sel]]
        pick = np.argmax((deps >= 0) * rng.random(deps.shape), axis=1)
        self.eth_deposit(t[sel], frm[sel], deps[np.arange(len(sel)), pick], pick, value[sel], 0, status[sel])
        # swaps ETH -> token
        sel = np.flatnonzero(cat == 2)
        tok = rng.choice(3, size=len(sel), p=[0.5, 0.35, 0.15])
        out = self._convert_vec(value[sel] * GWEI, "ETH", tok, t[sel], 0.997)
        self.swap_eth_for_token(t[sel], frm[sel], value[sel], 0, tok, out, status[sel])
        # mixer deposits and their withdrawals to fresh addresses of the same user
        sel = np.flatnonzero(cat == 3)
        self.mixer_deposit(t[sel], frm[sel], di[sel], status[sel])
        ok = sel[status[sel] == 1]
        wt = t[ok] + (rng.lognormal(np.log(30 * 3600), 1.0, len(ok))).astype(np.int64)
        keep = wt < end - 600
        ok, wt = ok[keep], wt[keep]
        fresh = eb.new(len(ok), Numbered("user:e", u[ok]), "user")
        self.mixer_withdraw(wt, di[ok], fresh, self.relayers[rng.integers(0, len(self.relayers), len(ok))])
        # bridge locks ETH -> BTC (released by the BTC engine)
        sel = np.flatnonzero(cat == 4)
        self.bridge_lock_eth(t[sel], frm[sel], value[sel], 0, status[sel])
        ok = sel[status[sel] == 1]
        self.pending_btc_releases = [
            (int(tt), int(v) * GWEI, "ETH") for tt, v in zip(t[ok], value[ok], strict=True)
        ]
        # OTC
        sel = np.flatnonzero(cat == 5)
        self.eth_transfer(t[sel], frm[sel], self.otc, value[sel], 0, status[sel])
        # ---- token events
        self._token_events(n_tok_ev, tok_hold, tok_amt, popularity)
        # ---- genesis + token distribution for users and holders
        self.eth.add_genesis(self.active, e_gwei, 0)
        self.eth.add_genesis(self.holders, h_gwei, 0)
        self._distribute_tokens(np.r_[self.active, self.holders], np.vstack([tok_amt, h_tok]))
        # ---- exchange withdrawals to users (income they never need), some straight to another exchange
        self._exchange_withdrawals(popularity)
        # ---- OTC desk pays users
        n_otc = int(0.004 * cfg.transfers)
        t = rng.integers(3600, end - 600, n_otc)
        to = self.active[rng.integers(0, n_active, n_otc)]
        self.eth_transfer(t, self.otc, to, round_sig(rng.lognormal(np.log(8e9), 1.0, n_otc), 2), 0)
        self.dep_ids_sorted = np.concatenate(self.dep_ids_list)
        o = np.argsort(self.dep_ids_sorted)
        self.dep_ids_sorted = self.dep_ids_sorted[o]
        self.dep_exchange = np.concatenate(self.dep_exchange_list)[o]

    def _convert_vec(self, amount, src: str, dst_tok: np.ndarray, t: np.ndarray, keep: float) -> np.ndarray:
        """Vectorised price conversion into token base units (floats are fine: swap outputs are priced)."""
        day = self.day(t)
        usd = np.asarray(amount, dtype=np.float64) * self.prices[src][day] / 10 ** ASSETS[src][1]
        out = np.zeros(len(day), dtype=np.int64)
        for i, tok in enumerate(TOKENS):
            m = dst_tok == i
            out[m] = np.floor(usd[m] * keep / self.prices[tok][day[m]] * TOKEN_UNIT[tok]).astype(np.int64)
        return np.maximum(out, 1)

    def _token_events(
        self, n_tok_ev: np.ndarray, tok_hold: np.ndarray, tok_amt: np.ndarray, popularity: np.ndarray
    ) -> None:
        rng, end = self.rng, self.cfg.end
        n_active = len(self.active)
        u = np.repeat(np.arange(n_active), n_tok_ev)
        m = len(u)
        # token: a random held token per event
        w = tok_hold[u] * rng.random((m, 3))
        tok = np.argmax(w, axis=1)
        key = u * 3 + tok
        share = rng.gamma(0.6, 1.0, m)
        share = share / np.bincount(key, weights=share, minlength=n_active * 3)[key]
        spend = rng.uniform(0.3, 0.95, n_active * 3)[key]
        amt = round_sig(share * spend * tok_amt[u, tok], rng.integers(2, 5, m))
        amt = np.maximum(amt, 1)
        t = rng.integers(3 * 3600 + 2 * DAY // 3, end - 900, m)
        status = np.where(rng.random(m) < 0.012, 0, 1)
        cat = rng.choice(5, size=m, p=[0.52, 0.30, 0.13, 0.03, 0.02])
        has_dep = (self.dep_of[u] >= 0).any(axis=1)
        cat = np.where((cat == 1) & ~has_dep, 0, cat)
        cat = np.where((cat == 3) & (tok == 1), 0, cat)  # bridge takes USDT and WBTC
        frm = self.active[u]
        sel = np.flatnonzero(cat == 0)
        self.token_transfer(
            t[sel],
            frm[sel],
            self.active[rng.choice(n_active, size=len(sel), p=popularity)],
            tok[sel],
            amt[sel],
            status[sel],
        )
        sel = np.flatnonzero(cat == 1)
        deps = self.dep_of[u[sel]]
        pick = np.argmax((deps >= 0) * rng.random(deps.shape), axis=1)
        self.token_deposit(
            t[sel], frm[sel], deps[np.arange(len(sel)), pick], pick, tok[sel], amt[sel], status[sel]
        )
        sel = np.flatnonzero(cat == 2)
        day = self.day(t[sel])
        px = np.choose(tok[sel], [self.prices[x][day] for x in TOKENS])
        usd = amt[sel] * px / np.array([TOKEN_UNIT[x] for x in TOKENS])[tok[sel]]
        wei = usd * 0.997 / self.prices["ETH"][day] * 1e18
        hi = np.floor(wei / GWEI).astype(np.int64)
        lo = (rng.integers(0, GWEI, len(sel))).astype(np.int64)
        self.swap_token_for_eth(t[sel], frm[sel], tok[sel], amt[sel], hi, lo, status[sel])
        sel = np.flatnonzero(cat == 3)
        self.bridge_lock_token(t[sel], frm[sel], tok[sel], amt[sel], status[sel])
        ok = sel[status[sel] == 1]
        self.pending_btc_releases += [
            (int(tt), int(a), TOKENS[int(k)]) for tt, a, k in zip(t[ok], amt[ok], tok[ok], strict=True)
        ]
        sel = np.flatnonzero(cat == 4)
        self.token_transfer(t[sel], frm[sel], self.otc, tok[sel], amt[sel], status[sel])

    def _distribute_tokens(self, who: np.ndarray, amounts: np.ndarray) -> None:
        """Treasuries hand out user token balances in the first day (after the mint)."""
        rng = self.rng
        for i, tok in enumerate(TOKENS):
            m = amounts[:, i] > 0
            n = int(m.sum())
            treasury = self.services[(f"{tok} token", "ethereum")].addresses["treasury"][0]
            t = rng.integers(600, 2 * DAY // 3, n)
            self.token_transfer(t, treasury, who[m], i, amounts[m, i])

    def _exchange_withdrawals(self, popularity: np.ndarray) -> None:
        rng, cfg = self.rng, self.cfg
        n = int(0.07 * cfg.transfers)
        n_active = len(self.active)
        u = rng.choice(n_active, size=n, p=popularity)
        has = self.dep_of[u] >= 0
        ex = np.where(has.any(axis=1), np.argmax(has * rng.random(has.shape), axis=1), rng.integers(0, 3, n))
        t = rng.integers(DAY, cfg.end - 900, n)
        to = self.active[u].copy()
        # 6%: straight into the same user's deposit address at another exchange (cross-exchange transfer)
        other = (ex + 1 + rng.integers(0, 2, n)) % 3
        cross_dep = self.dep_of[u, other]
        cross = (rng.random(n) < 0.06) & (cross_dep >= 0)
        to[cross] = cross_dep[cross]
        is_tok = rng.random(n) < 0.4
        tok = rng.choice(3, size=n, p=[0.5, 0.35, 0.15])
        hot = np.array(self.ex_hot)[ex]
        eth_amt = round_sig(rng.lognormal(np.log(4e8), 1.3, n), 4)
        tok_amt = round_sig(
            np.choose(
                tok,
                [
                    rng.lognormal(np.log(600), 1.3, n) * 1e6,
                    rng.lognormal(np.log(500), 1.3, n) * 1e6,
                    rng.lognormal(np.log(0.02), 1.2, n) * 1e8,
                ],
            ),
            4,
        )
        for is_cross in (False, True):
            sel = np.flatnonzero(~is_tok & (cross == is_cross))
            if is_cross:
                self.eth_deposit(t[sel], hot[sel], to[sel], other[sel], eth_amt[sel], 0)
            else:
                self.eth_transfer(t[sel], hot[sel], to[sel], eth_amt[sel], 0)
            sel = np.flatnonzero(is_tok & (cross == is_cross))
            if is_cross:
                self.token_deposit(t[sel], hot[sel], to[sel], other[sel], tok[sel], tok_amt[sel])
            else:
                self.token_transfer(t[sel], hot[sel], to[sel], tok[sel], tok_amt[sel])

    # ------------------------------------------------------------------------------------------ sweeps
    def evm_sweeps(self) -> None:
        """Exchanges move deposits to their hot wallet: EOA deposit addresses send the exact balance minus gas
        (tokens after a gas top-up of exactly the sweep's fee); forwarder contracts are flushed by a sweeper."""
        rng, end = self.rng, self.cfg.end
        d = {k: np.concatenate([x[k] for x in self.eth_deposits]) for k in self.eth_deposits[0]}
        n = len(d["t"])
        ts = d["t"] + rng.integers(1200, 6 * 3600, n)
        keep = ts < end - 300
        hot = np.array(self.ex_hot)
        gas_addr = np.array(self.ex_gas)
        fwd = np.array([self.ex_style[e] == "forwarder" for e in d["ex"]], dtype=bool)
        is_tok = d["token"] >= 0
        # ETH sweeps from EOA deposits: value = deposit - fee
        sel = np.flatnonzero(keep & ~is_tok & ~fwd)
        fee = fee_at(ts[sel], 21000)
        total_lo = d["vlo"][sel] - fee
        borrow = np.ceil(np.maximum(-total_lo, 0) / GWEI).astype(np.int64)
        vhi, vlo = d["vhi"][sel] - borrow, total_lo + borrow * GWEI
        ok = vhi * GWEI + vlo > fee  # skip dust deposits (not worth the gas)
        self.eth.add_txs(
            ts[sel][ok], d["dep"][sel][ok], hot[d["ex"][sel][ok]], vhi=vhi[ok], vlo=vlo[ok], gas_used=21000
        )
        # token sweeps
        sel = np.flatnonzero(keep & is_tok & ~fwd)
        gu = evm.gas_used_for(rng, ERC20, len(sel))
        t_sweep = ts[sel] + 36
        topup = fee_at(t_sweep, gu)
        self.eth.add_txs(
            ts[sel],
            gas_addr[d["ex"][sel]],
            d["dep"][sel],
            vhi=topup // GWEI,
            vlo=topup % GWEI,
            gas_used=21000,
        )
        self.token_transfer(
            t_sweep, d["dep"][sel], hot[d["ex"][sel]], d["token"][sel], d["amt"][sel], gas_used=gu
        )
        # forwarder flushes (tokens)
        sel = np.flatnonzero(keep & is_tok & fwd)
        ids = self.eth.add_txs(ts[sel], gas_addr[d["ex"][sel]], d["dep"][sel], call=FLUSH, rng=rng)
        self.eth.add_logs(ids, d["token"][sel], d["dep"][sel], hot[d["ex"][sel]], d["amt"][sel])

    # ------------------------------------------------------------------------------------- endowments
    def evm_endow(self) -> None:
        """Give every paying service wallet more than it pays (genesis ETH; tokens minted at block 1-2)."""
        rng = self.rng
        ids = np.array(sorted(self.endowed_eth), dtype=np.int64)
        _, tok = self.eth.outflows(ids)
        # tokens first: mint transactions cost the issuers gas, which the ETH pass below covers
        for i, t in enumerate(TOKENS):
            issuer = self.services[(f"{t} token", "ethereum")].addresses["issuer"][0]
            need = {a: v for (a, k), v in tok.items() if k == i}
            for a in (
                self.dex,
                self.otc,
                self.services[(f"{t} token", "ethereum")].addresses["treasury"][0],
                *self.ex_hot,
            ):
                need.setdefault(a, 0)
            who = np.array(sorted(need), dtype=np.int64)
            amt = np.array(
                [int(need[a] * 1.25) + 50_000 * TOKEN_UNIT[t] for a in who.tolist()], dtype=np.int64
            )
            times = rng.integers(12, 300, len(who))
            mint = self.eth.add_txs(times, issuer, self.eth.token_addr[t], call=MINT, rng=rng)
            self.eth.add_logs(mint, i, self.zero, who, amt)
            self.token_supply[t] += int(amt.sum())
        eth, _ = self.eth.outflows(ids)
        who = np.array(sorted(eth), dtype=np.int64)
        wei = [int(eth[a] * 1.2) + 50 * 10**18 for a in who.tolist()]
        hi = np.array([w // GWEI for w in wei], dtype=np.int64)
        self.eth.add_genesis(who, hi, 0)

    # ------------------------------------------------------------------------------------ UTXO economy
    def btc_setup(self) -> None:
        """Owners, users and the genesis allocation of the UTXO chain."""
        cfg, rng, bb = self.cfg, self.rng_btc, self.btc_book
        k = cfg.k
        self.n_btc_users = n = int(9_000 * k**0.85)
        # owner ids: users 0..n-1, then services
        self.b_primary = bb.new(n, Numbered("user:b", np.arange(n)), "user")
        self.b_act = np.minimum(rng.pareto(1.2, n) + 0.2, 300)
        nxt = n
        # each exchange is two owners in the engine: its deposit addresses and its hot wallet (the same
        # company; owners.csv names both exchange:<name>) so sweeps and payouts pick the right outputs
        self.o_ex = np.arange(nxt, nxt + len(EXCHANGES))
        nxt += len(EXCHANGES)
        self.o_ex_hot = np.arange(nxt, nxt + len(EXCHANGES))
        nxt += len(EXCHANGES)
        self.o_miner = np.arange(nxt, nxt + len(self.miners))
        nxt += len(self.miners)
        self.o_bridge, self.o_otc, self.o_coord = nxt, nxt + 1, nxt + 2
        self.n_owners = nxt + 3
        acct = rng.random((n, len(EXCHANGES))) < np.array([0.4, 0.3, 0.2])
        ui, ei = np.nonzero(acct)
        dep = bb.new(len(ui), Coded(tuple(f"exchange:{name}" for name, _ in EXCHANGES), ei), "deposit")
        self.b_dep = np.full((n, len(EXCHANGES)), -1, np.int64)
        self.b_dep[ui, ei] = dep
        for e in range(len(EXCHANGES)):
            s = self.services[(EXCHANGES[e][0], "bitcoin")]
            ids = dep[ei == e]
            s.add("deposit", ids)
            s.tagged.update(ids[rng.random(len(ids)) < 0.03].tolist())
        self.btc.user_limit = n
        self.btc.miner_owner_of_addr = lambda a: self.o_miner[np.searchsorted(self.miners, a)]
        self.cj_queue = JoinQueue()
        self.u_sat = np.clip(round_sig(rng.lognormal(np.log(4e6), 1.8, n), 3), 20_000, 5e10).astype(np.int64)

    def btc_genesis(self) -> None:
        """Block 0: one coinbase allocating the opening balances (users, exchanges, bridge, OTC desk), and the
        bridge payouts owed for locks on ethereum."""
        rng, n, k = self.rng_btc, self.n_btc_users, self.cfg.k
        u_sat = self.u_sat
        releases = sum(
            self.bridge_out_sat(a, asset, int(self.day(t))) for t, a, asset in self.pending_btc_releases
        )
        # service wallets start with several outputs so that they can pay more than once per round
        n_liq = self._bridge_liquidity_outputs()
        svc_addr = np.r_[
            np.repeat(self.ex_btc_hot, 30),
            np.repeat(self.bridge_btc_out, 30 + n_liq),
            np.repeat(self.otc_btc, 5),
        ]
        svc_owner = np.r_[
            np.repeat(self.o_ex_hot, 30), np.full(30 + n_liq, self.o_bridge), np.full(5, self.o_otc)
        ]
        svc_val = np.r_[
            np.full(30 * len(EXCHANGES), int(2_000e8 * k**0.8) // 30),
            np.full(30, int((releases * 1.5 + self.extra_bridge_btc + 50e8) // 30)),
            np.full(n_liq, int(releases * 1.5) // max(30 + n_liq, 1)),
            np.full(5, int(500e8 * k**0.8) // 5),
        ]
        addr = np.r_[self.b_primary, svc_addr]
        owner = np.r_[np.arange(n), svc_owner]
        value = np.r_[u_sat, svc_val]
        self.btc.build(
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(len(addr), np.int64),
            addr,
            value,
            owner,
            ready_delay=1,
            coinbase_block=np.array([0]),
        )
        self.btc.round = 0
        self.btc.commit()
        # schedule bridge releases for ETH -> BTC locks
        for t, amount, asset in self.pending_btc_releases:
            self.schedule_btc_release(t + int(rng.integers(1200, 3 * 3600)), amount, asset, None)

    extra_bridge_btc = 0

    def _bridge_liquidity_outputs(self) -> int:
        """Extra opening outputs of the bridge's payout wallet, beyond the base 30, so that it never runs out of
        spendable outputs (``bridge wallet ran dry`` at the large scale). Each release spends at least one output
        and its change is spendable only in the next round, so the wallet needs more outputs than releases fall
        due in a round. Releases land up to three rounds after their lock, so the busiest four-round window
        bounds a round's demand; the wallet gets ``2 * busiest - 90`` outputs, never fewer than 30. Small and
        medium worlds stay at 30 (their bytes do not change); the large world gets hundreds."""
        if not self.pending_btc_releases:
            return 0
        per_round = BTC_BLOCK_S * self.btc.bpr
        lock_round = np.array([t for t, _, _ in self.pending_btc_releases], np.int64) // per_round
        busiest = int(np.convolve(np.bincount(lock_round), np.ones(4, np.int64)).max())
        return max(0, 2 * busiest - 90 - 30)

    def schedule_btc_release(self, t: int, amount: int, asset: str, on_done) -> None:
        """Bridge payout on bitcoin for a lock on ethereum; ``on_done(tx, vout, sat, addr)`` for the truth."""
        eng = self.btc
        rnd = eng.round_after_time(t)

        state: dict[str, int] = {}

        def release(e: UtxoEngine, r: int) -> None:
            sat = self.bridge_out_sat(amount, asset, int(self.day(rnd * e.bpr * BTC_BLOCK_S)))
            if "to" not in state:
                if on_done is None:
                    u = int(self.rng_btc.integers(0, self.n_btc_users))
                    state["to"] = int(self.btc_book.new(1, f"user:b{u}", "user", np.array([0], np.int8))[0])
                    state["owner"] = u
                else:
                    state["to"], state["owner"] = on_done("address")
            to, owner = state["to"], state["owner"]
            if sat < DUST:
                return
            res = e.pay(
                self.o_bridge,
                [(to, sat, owner)],
                change_addr=self.bridge_btc_out,
                feerate=6,
                from_addrs=[self.bridge_btc_out],
            )
            if res is None:
                if r - rnd > 36:
                    raise AssertionError("bridge wallet ran dry")
                e.at(r + 1, release)  # its outputs are all in flight this round: pay next round
                return
            if on_done is not None:
                on_done("paid", res, sat, to)

        eng.at(rnd, release)

    def _pick_btc_users(self, k: int) -> np.ndarray:
        """``k`` users drawn by activity (inverse CDF on a cached cumulative sum)."""
        if getattr(self, "_b_cum", None) is None or len(self._b_cum) != len(self.b_act):
            self._b_cum = np.cumsum(self.b_act) / self.b_act.sum()
        return np.minimum(np.searchsorted(self._b_cum, self.rng_btc.random(k)), len(self.b_act) - 1)

    def btc_round(self, eng: UtxoEngine, r: int) -> None:
        """One round of ordinary activity on the UTXO chain."""
        rng = self.rng_btc
        n = self.n_btc_users
        feerate = int(rng.integers(3, 30))
        total_rounds = eng.rounds
        # ---- user spends
        lam = 0.2 * self.cfg.transfers / total_rounds / 1.9
        cand = np.flatnonzero(eng.user_counts()[:n])  # users with a spendable output
        if len(cand):
            m = min(int(rng.poisson(lam)), len(cand))
            spenders = weighted_sample(rng, cand, self.b_act[cand], m)
            self._user_spends(eng, r, spenders, feerate)
        # ---- exchange sweeps (every 3 rounds) and withdrawals
        if r % 3 == 0:
            self._btc_sweeps(eng, feerate)
        self._btc_withdrawals(eng, r, feerate)
        # ---- miner payouts
        if r % 6 == 0:
            for o in self.o_miner:
                idx = eng.ready_of(int(o))
                if len(idx) == 0:
                    continue
                tot = int(eng.p_value[idx].sum())
                k = int(rng.integers(8, 30))
                users = rng.choice(n, size=k)
                to = self.btc_book.new(k, Numbered("user:b", users), "user")
                fee = int(vsize(len(idx), k) * feerate)
                share = (tot - fee) // k
                if share < DUST:
                    continue
                vals = np.full(k, share, np.int64)
                eng.build(idx, np.zeros(len(idx), np.int64), np.zeros(k, np.int64), to, vals, users)
        # ---- coinjoin
        self._coinjoins(eng, r, feerate)

    def _user_spends(self, eng: UtxoEngine, r: int, spenders: np.ndarray, feerate: int) -> None:
        rng, bb = self.rng_btc, self.btc_book
        m = len(spenders)
        if m == 0:
            return
        cat = rng.choice(6, size=m, p=[0.62, 0.22, 0.02, 0.02, 0.04, 0.08])
        # 0 p2p, 1 deposit, 2 bridge, 3 otc, 4 coinjoin enrolment, 5 self-transfer (consolidation)
        has_dep = (self.b_dep[spenders] >= 0).any(axis=1)
        cat = np.where((cat == 1) & ~has_dep, 0, cat)
        enrol = spenders[cat == 4]
        for o, idx in zip(enrol.tolist(), eng.ready_groups(enrol), strict=True):
            idx = idx[np.argsort(-eng.p_value[idx])][:3]
            if eng.p_value[idx].sum() > COINJOIN_DENOM * 1.05:
                self.cj_queue.append(
                    {"owner": o, "idx": [(int(eng.p_tx[i]), int(eng.p_vout[i])) for i in idx], "cb": None}
                )
        spenders, cat = spenders[cat != 4], cat[cat != 4]
        m = len(spenders)
        # the spenders' outputs by owner, in pool order: at most 40 inputs per spender
        by_owner = np.sort(spenders)
        idx, at = eng.user_outputs(by_owner)
        own = by_owner[at]
        starts = np.r_[0, np.flatnonzero(np.diff(own)) + 1] if len(own) else np.zeros(0, np.int64)
        rank = np.arange(len(own)) - np.repeat(starts, np.diff(np.r_[starts, len(own)])) if len(own) else own
        idx, own = idx[rank < 40], own[rank < 40]
        sp_order = np.argsort(spenders)
        grp = sp_order[np.searchsorted(spenders[sp_order], own)] if len(own) else own
        total = np.bincount(grp, weights=eng.p_value[idx], minlength=m).astype(np.int64)
        n_in = np.bincount(grp, minlength=m)
        frac = rng.uniform(0.03, 1.0, m)
        send_all = (frac > 0.85) | (cat == 5)
        fee = (vsize(n_in, np.where(send_all, 1, 2)) * feerate).astype(np.int64)
        pay = np.where(send_all, total - fee, round_sig(np.maximum(total * frac, 1), rng.integers(2, 5, m)))
        change = total - pay - fee
        small_change = (~send_all) & (change < DUST)
        pay = np.where(small_change, total - fee, pay)
        change = np.where(small_change, 0, change)
        ok = (pay >= DUST) & (n_in > 0)
        # recipients
        rec_user = self._pick_btc_users(m)
        to_addr = np.where(rng.random(m) < 0.5, self.b_primary[rec_user], -1)
        need_fresh = (cat == 0) & (to_addr < 0)
        fresh = bb.new(int(need_fresh.sum()), Numbered("user:b", rec_user[need_fresh]), "user")
        to_addr[need_fresh] = fresh
        to_owner = rec_user.copy()
        deps = self.b_dep[spenders]
        pick = np.argmax((deps >= 0) * rng.random(deps.shape), axis=1)
        dsel = cat == 1
        to_addr[dsel] = deps[np.arange(m), pick][dsel]
        to_owner[dsel] = self.o_ex[pick[dsel]]
        to_addr[cat == 2], to_owner[cat == 2] = self.bridge_btc_in, self.o_bridge
        to_addr[cat == 3], to_owner[cat == 3] = self.otc_btc, self.o_otc
        self_sel = cat == 5
        own_fresh = bb.new(int(self_sel.sum()), Numbered("user:b", spenders[self_sel]), "user")
        to_addr[self_sel], to_owner[self_sel] = own_fresh, spenders[self_sel]
        # change: fresh change address (75%) or back to the first input's address (address reuse)
        has_change = ok & (change > 0)
        first_in = np.full(m, -1, np.int64)
        if len(grp):
            st = np.r_[0, np.flatnonzero(np.diff(grp)) + 1]
            first_in[grp[st]] = eng.p_addr[idx[st]]
        reuse = rng.random(m) < 0.25
        nf = int((has_change & ~reuse).sum())
        ch_fresh = bb.new(nf, Numbered("user:b", spenders[has_change & ~reuse]), "change")
        ch_addr = first_in.copy()
        ch_addr[has_change & ~reuse] = ch_fresh
        # assemble groups for the ok spenders
        gmap = np.full(m, -1, np.int64)
        gmap[ok] = np.arange(int(ok.sum()))
        keep_in = ok[grp] if len(grp) else np.zeros(0, bool)
        in_idx, in_grp = idx[keep_in], gmap[grp[keep_in]]
        okg = np.flatnonzero(ok)
        og = np.r_[gmap[okg], gmap[okg[has_change[okg]]]]
        oa = np.r_[to_addr[okg], ch_addr[okg[has_change[okg]]]]
        ov = np.r_[pay[okg], change[okg[has_change[okg]]]]
        oo = np.r_[to_owner[okg], spenders[okg[has_change[okg]]]]
        eng.build(in_idx, in_grp, og, oa, ov, oo)
        # bridge locks BTC -> ETH: the bridge pays ETH on ethereum after a delay (the draws one lock at a
        # time as they always were, the payouts appended in one batch)
        payouts: list[tuple[int, int, int]] = []
        for i in np.flatnonzero(ok & (cat == 2)).tolist():
            t = (r * eng.bpr + 3) * BTC_BLOCK_S + int(rng.integers(1800, 4 * 3600))
            if t < self.cfg.end - 600:
                wei = convert(int(pay[i]), "BTC", "ETH", int(self.day(t)), self.prices, keep=1 - BRIDGE_FEE)
                payouts.append((t, int(self.active[int(rng.integers(0, len(self.active)))]), wei))
        if payouts:
            t, to, wei = zip(*payouts, strict=True)
            self.eth.add_txs(
                np.array(t),
                self.bridge_payout,
                np.array(to),
                vhi=np.array([v // GWEI for v in wei]),
                vlo=np.array([v % GWEI for v in wei]),
                gas_used=21000,
            )

    def _btc_sweeps(self, eng: UtxoEngine, feerate: int) -> None:
        """Multi-input consolidations of deposit outputs into the hot wallet (at most 60 inputs each)."""
        for e, o in enumerate(self.o_ex.tolist()):
            idx = eng.ready_of(o)
            for c in range(0, len(idx), 60):
                part = idx[c : c + 60]
                tot = int(eng.p_value[part].sum())
                fee = int(vsize(len(part), 1) * feerate)
                if tot - fee < DUST:
                    continue
                eng.build(
                    part,
                    np.zeros(len(part), np.int64),
                    np.zeros(1, np.int64),
                    [self.ex_btc_hot[e]],
                    [tot - fee],
                    [int(self.o_ex_hot[e])],
                )

    def _btc_withdrawals(self, eng: UtxoEngine, r: int, feerate: int) -> None:
        rng, bb = self.rng_btc, self.btc_book
        lam = 0.06 * self.cfg.transfers / eng.rounds / len(EXCHANGES)
        for e, o in enumerate(self.o_ex_hot.tolist()):
            k = int(rng.poisson(lam))
            if k == 0:
                continue
            users = self._pick_btc_users(k)
            vals = round_sig(rng.lognormal(np.log(2.5e6), 1.4, k), 4)
            fresh = rng.random(k) < 0.6
            to = np.where(fresh, -1, self.b_primary[users])
            to[fresh] = bb.new(int(fresh.sum()), Numbered("user:b", users[fresh]), "user")
            if EXCHANGES[e][1] == "forwarder":
                # Krakoin pays its first withdrawal of the round alone, change to a fresh address: over the
                # rounds its hot wallet walks a peel chain; the rest go out in one batch
                ch = int(bb.new(1, f"exchange:{EXCHANGES[e][0]}", "hot_change", np.array([0], np.int8))[0])
                eng.pay(o, [(int(to[0]), int(vals[0]), int(users[0]))], change_addr=ch, feerate=feerate)
                if k > 1:
                    eng.pay(
                        o,
                        [
                            (int(a), int(v), int(u))
                            for a, v, u in zip(to[1:], vals[1:], users[1:], strict=True)
                        ],
                        change_addr=self.ex_btc_hot[e],
                        feerate=feerate,
                    )
            else:
                eng.pay(
                    o,
                    [(int(a), int(v), int(u)) for a, v, u in zip(to, vals, users, strict=True)],
                    change_addr=self.ex_btc_hot[e],
                    feerate=feerate,
                )

    def _coinjoins(self, eng: UtxoEngine, r: int, feerate: int) -> None:
        """Equal-output CoinJoin rounds (Wasabi-style): inputs of 5-15 participants, 0.1 BTC outputs to fresh
        addresses, change back to each participant, the coordinator fee in one output."""
        q = self.cj_queue
        waiting_attacker = q.actors > 0
        if len(q) < 5 and not (waiting_attacker and len(q) >= 2):
            return
        if len(q) < 5 and waiting_attacker:
            # pad with ordinary users who happen to hold enough (coordinators wait for liquidity)
            cands = np.unique(
                eng.p_owner[
                    (eng.p_owner < self.n_btc_users)
                    & eng.p_alive
                    & (eng.p_ready <= r)
                    & (eng.p_value > COINJOIN_DENOM * 1.1)
                ]
            )
            for o in self.rng_btc.choice(cands, size=min(5 - len(q), len(cands)), replace=False).tolist():
                i = eng.ready_of(o)
                i = i[np.argmax(eng.p_value[i])]
                q.append({"owner": o, "idx": [(int(eng.p_tx[i]), int(eng.p_vout[i]))], "cb": None})
        parts = q.take(15)
        bb = self.btc_book
        in_idx, in_grp, outs, cbs = [], [], [], []
        coord_total = 0
        used: set[int] = set()
        for p in parts:
            try:
                idx = [eng.find(tx, v) for tx, v in p["idx"]]
            except AssertionError:
                if p["cb"] is not None:
                    raise
                continue
            if used.intersection(idx):
                continue
            used.update(idx)
            tot = int(eng.p_value[idx].sum())
            fee_share = int(vsize(len(idx), 0) * feerate) + 31 * feerate * 3
            k = min((tot - fee_share) // int(COINJOIN_DENOM * (1 + COINJOIN_FEE)), 8)
            if k <= 0:
                if p["cb"] is not None:
                    raise AssertionError("attacker coinjoin input too small")
                continue
            coord = int(k * COINJOIN_DENOM * COINJOIN_FEE)
            change = tot - fee_share - coord - k * COINJOIN_DENOM
            owner = p["owner"]
            name = p.get("name", f"user:b{owner}")
            addrs = bb.new(
                int(k) + 1,
                name,
                "coinjoin_output" if p["cb"] is None else "attacker_postmix",
                np.zeros(int(k) + 1, np.int8),
            )
            my_outs = [(int(addrs[j]), COINJOIN_DENOM, owner) for j in range(int(k))]
            if change >= DUST:
                my_outs.append((int(addrs[-1]), int(change), owner))
                fee_share_eff = fee_share
            else:
                fee_share_eff = fee_share + change
            coord_total += coord
            in_idx += idx
            in_grp += [0] * len(idx)
            outs += my_outs
            cbs.append((p, my_outs, coord, fee_share_eff, tot))
        if len(cbs) < 2:
            for p, *_ in cbs:
                self.cj_queue.append(p)
            return
        outs.append((self.coordinator, coord_total, self.o_coord))
        perm = self.rng_btc.permutation(len(outs) - 1)
        shuffled = [outs[i] for i in perm] + [outs[-1]]
        tx = eng.build(
            np.array(in_idx),
            np.array(in_grp),
            np.zeros(len(shuffled), np.int64),
            np.array([o[0] for o in shuffled]),
            np.array([o[1] for o in shuffled]),
            np.array([o[2] for o in shuffled]),
        )
        tid = int(tx[0])
        vout_of = {}
        for j, o in enumerate(shuffled):
            vout_of.setdefault((o[0], o[1]), j)
        for p, my_outs, coord, fee_eff, tot in cbs:
            if p["cb"] is not None:
                p["cb"](
                    tid,
                    [(o[0], o[1], vout_of[(o[0], o[1])]) for o in my_outs],
                    coord,
                    fee_eff,
                    tot,
                    len(shuffled) - 1,
                )


__all__ = ["World", "round_sig", "MIX_DENOMS_WEI", "COINJOIN_DENOM"]
