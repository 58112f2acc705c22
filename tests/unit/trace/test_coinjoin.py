"""CoinJoin handling on UTXO chains: the tainted participant's change continues exactly, what it mixed stops
at the CoinJoin as a mixer exit, equal outputs it later co-spends with its change are linked back, and other
participants' outputs are never tainted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.unit.trace.ledger import T0, Utxo

from chainsleuth.labels.tagstore import add_tag
from chainsleuth.trace import coinjoin, trace

D = 10_000_000  # 0.1 BTC denomination
FEE = 4_000  # miner fee of the CoinJoin, 1,000 per participant
RATE = 30_000  # coordinator fee per denomination (0.3 %)


def _world(con):
    """Thief A (3 BTC) and users U1-U3 join one CoinJoin: A buys 5 equal outputs, each user 2."""
    u = Utxo(con)
    for day in range(3):
        con.execute("INSERT INTO prices (symbol, day, usd) VALUES ('BTC', ?, 60000)", [(T0 + timedelta(days=day)).date()])
    add_tag(con, "coordinator", "Whirlmix coordinator", chain="bitcoin", category="mixer", source="test")
    u.tx(1, "fund", [], [("A", 300_000_000), ("U1", 100_000_000), ("U2", 50_000_000), ("U3", 40_000_000)])
    buys = {"A": 5, "U1": 2, "U2": 2, "U3": 2}
    start = {"A": 0, "U1": 1, "U2": 2, "U3": 3}
    funded = {"A": 300_000_000, "U1": 100_000_000, "U2": 50_000_000, "U3": 40_000_000}
    outs = []
    for p, k in buys.items():  # equal outputs interleaved (a coordinator shuffles them)
        outs += [(f"{p}-post{j}", D) for j in range(k)]
    outs.sort(key=lambda x: x[0][::-1])
    change_at = {}
    for p, k in buys.items():
        change_at[p] = len(outs)
        outs.append((f"{p}-change", funded[p] - k * D - k * RATE - FEE // 4))
    outs.append(("coordinator", sum(buys.values()) * RATE))
    u.tx(2, "cj", [("fund", start[p]) for p in buys], outs)
    post = {a: n for n, (a, _v) in enumerate(outs)}
    # A merges its change with two of its post-mix outputs, then spends the other three together
    u.tx(3, "merge", [("cj", change_at["A"]), ("cj", post["A-post0"]), ("cj", post["A-post1"])],
         [("X", 300_000_000 - 5 * D - 5 * RATE - FEE // 4 + 2 * D - 2_000)])
    u.tx(3, "group", [("cj", post[f"A-post{j}"]) for j in (2, 3, 4)], [("Y", 3 * D - 1_500)])
    u.tx(3, "user", [("cj", post["U1-post0"]), ("cj", post["U1-post1"]), ("cj", change_at["U1"])],
         [("Z", 100_000_000 - 2 * RATE - FEE // 4 - 1_000)])
    return u


@pytest.mark.parametrize("model", ["poison", "haircut", "fifo"])
def test_tainted_change_continues_and_the_mix_is_an_exit(con, model):
    _world(con)
    r = trace(con, ["A"], "bitcoin", model=model)
    ends = {(x.address, x.category): x.amount for x in r.exits + r.resting}
    # the change and the two post-mix outputs merged with it: exactly what reached X
    assert ends[("X", None)] == 300_000_000 - 5 * D - 5 * RATE - FEE // 4 + 2 * D - 2_000
    # what A mixed and did not take back visibly: three denominations plus A's fees
    assert ends[("coordinator", "mixer")] == 3 * D + 5 * RATE + FEE // 4
    # nobody else's outputs are tainted, and taint is conserved (no double counting)
    assert set(ends) == {("X", None), ("coordinator", "mixer")}
    assert sum(ends.values()) + 2_000 == 300_000_000
    links = {(d["withdrawal_to"], d["signals"][0], d["probability"]) for d in r.to_dict()["demix"]}
    assert links == {("A-post0", "co-spent-with-change", 1.0), ("A-post1", "co-spent-with-change", 1.0)}


def test_demix_links_a_group_only_its_owner_can_have_formed(con):
    _world(con)
    r = trace(con, ["A"], "bitcoin", model="haircut", demix=True)
    ends = {x.address: x.amount for x in r.exits + r.resting}
    # three equal outputs spent together: only A bought more than two, so P(A) = C(3,3) / C(3,3) = 1
    assert ends["Y"] == 3 * D - 1_500
    assert ends["coordinator"] == 5 * RATE + FEE // 4
    assert "Z" not in ends


def test_sub_transaction_split_pairs_inputs_with_their_change(con):
    u = _world(con)
    rows = []
    for (tx, oi), (a, v) in u.outs.items():
        rows.append((tx, oi, 0, T0, a, v, "cj" if tx == "fund" else None, 0, 0, 0))
    found = coinjoin.detect(rows, {"cj"}, {"cj": FEE}, {"coordinator"})
    cj = found["cj"]
    assert cj.denomination == D and len(cj.equal) == 11 and cj.coordinator == "coordinator"
    got = {p.address: (p.k, rows[p.change][4]) for p in cj.participants}
    assert got == {"A": (5, "A-change"), "U1": (2, "U1-change"), "U2": (2, "U2-change"), "U3": (2, "U3-change")}
    assert not cj.unmatched_inputs


def test_a_batch_payment_is_not_a_coinjoin():
    # one payer, three equal payouts and change: a single input address cannot be a mix
    rows = [("f", 0, 0, T0, "P", 100_000_000, "b", 0, 0, 0)]
    rows += [("b", n, 1, T0, f"R{n}", D, None, 0, 0, 0) for n in range(3)]
    rows += [("b", 3, 1, T0, "P2", 100_000_000 - 3 * D - 500, None, 0, 0, 0)]
    assert coinjoin.detect(rows, {"b"}, {"b": 500}, set()) == {}
