"""The UTXO trace index: built once per ledger state, rebuilt when the ledger changes, every output and spend of
the ledger represented exactly (also on partial data), and traces over it see what the ledger holds."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.trace.ledger import Utxo

from chainsleuth import store
from chainsleuth.trace import trace
from chainsleuth.trace.utxo_index import ensure_utxo_index, lookup

#: The ledger's outputs with their spends, by strings (an input spending an output the ledger does not hold
#: appears with value NULL and the input's address).
LEDGER_SPENDS = """
    SELECT o.tx_hash, o.output_index, o.address, o.value, i.tx_hash, i.input_index, i.block_number
    FROM utxo_outputs o LEFT JOIN utxo_inputs i
      ON i.chain = o.chain AND i.spent_tx_hash = o.tx_hash AND i.spent_output_index = o.output_index
    WHERE o.chain = 'bitcoin'
    UNION ALL
    SELECT i.spent_tx_hash, i.spent_output_index, i.address, NULL, i.tx_hash, i.input_index, i.block_number
    FROM utxo_inputs i ANTI JOIN utxo_outputs o
      ON o.chain = i.chain AND o.tx_hash = i.spent_tx_hash AND o.output_index = i.spent_output_index
    WHERE i.chain = 'bitcoin'"""

#: The same, read back from the index.
INDEX_SPENDS = """
    SELECT x.hash, o.output_index, a.address, o.value, s.hash, o.spent_index, o.spent_block
    FROM utxo_trace_outputs o
    JOIN utxo_trace_txs x ON x.chain = o.chain AND x.id = o.tx
    LEFT JOIN utxo_trace_txs s ON s.chain = o.chain AND s.id = o.spent_by
    LEFT JOIN utxo_trace_addresses a ON a.chain = o.chain AND a.id = o.address
    WHERE o.chain = 'bitcoin'"""


def _partial(con) -> Utxo:
    """p0 is not stored (a spends it from V); b is not in ``transactions`` (only its outputs and inputs)."""
    u = Utxo(con)
    u.tx(1, "a", [], [("M", 30_000), ("V", 19_000)], unstored=[("p0", 0, "V", 50_000)])
    u.tx(2, "b", [("a", 0)], [("T", 29_500)], listed=False)
    u.tx(3, "c", [("b", 0), ("a", 1)], [("X", 48_000)])
    return u


def test_built_once_and_rebuilt_when_the_ledger_changes(con):
    u = _partial(con)
    assert ensure_utxo_index(con, "bitcoin") is True
    assert ensure_utxo_index(con, "bitcoin") is False
    store.record_load(con, None, "tags.yaml", "tags:tagpack", 1)  # labels are read live: no rebuild
    assert ensure_utxo_index(con, "bitcoin") is False
    assert {r.address for r in trace(con, ["M"], "bitcoin").resting} == {"X"}
    u.tx(4, "d", [("c", 0)], [("Y", 47_000)])
    assert {r.address for r in trace(con, ["M"], "bitcoin").resting} == {"Y"}  # the trace rebuilt it
    assert ensure_utxo_index(con, "bitcoin") is False
    con.execute("DELETE FROM utxo_inputs WHERE tx_hash = 'd'")  # a reorg removes d's spend
    con.execute("DELETE FROM utxo_outputs WHERE tx_hash = 'd'")
    con.execute("DELETE FROM transactions WHERE hash = 'd'")
    assert {r.address for r in trace(con, ["M"], "bitcoin").resting} == {"X"}


def test_partial_ledger_is_indexed_exactly(con):
    _partial(con)
    ensure_utxo_index(con, "bitcoin")
    assert sorted(con.execute(INDEX_SPENDS).fetchall(), key=repr) == sorted(con.execute(LEDGER_SPENDS).fetchall(),
                                                                            key=repr)
    # ids: listed transactions in block order, then the ones only outputs/inputs name
    ids = dict(con.execute("SELECT hash, id FROM utxo_trace_txs WHERE chain = 'bitcoin'").fetchall())
    assert ids == {"a": 0, "c": 1, "b": 2, "p0": 3}
    first = dict(con.execute("""SELECT x.hash, a.address FROM utxo_trace_txs x
                                JOIN utxo_trace_addresses a ON a.chain = x.chain AND a.id = x.first_input""").fetchall())
    assert first == {"a": "V", "b": "M", "c": "T"}
    assert lookup(con, "bitcoin", "tx", ["b", "zz"]) == {"b": 2}
    assert set(lookup(con, "bitcoin", "address", ["V", "X", "nobody"])) == {"V", "X"}


def test_traces_over_partial_data(con):
    _partial(con)
    # V received 19,000 as change of a transaction it paid itself (through an output the ledger lacks)
    r = trace(con, ["V"], "bitcoin", model="poison")
    assert r.totals["by_asset"][0]["source"] == 0
    assert {(x.address, x.amount) for x in r.resting} == {("X", 48_000)}
    assert {e.from_ for e in r.edges if e.to == "X"} == {"T"}
    # M's 30,000 came from elsewhere; through the unlisted b (no fee known) into c
    r = trace(con, ["M"], "bitcoin", model="haircut")
    assert r.totals["by_asset"][0]["source"] == 30_000
    assert {(x.address, x.amount) for x in r.resting} == {("X", round(48_000 * 29_500 / 48_500))}
    assert {e.tx_hash for e in r.edges} == {"a", "b", "c"}
    # backward from X: c's parents b and a, then a's parent p0 that only its spend names
    r = trace(con, ["X"], "bitcoin", model="haircut", direction="backward", max_hops=5)
    assert r.totals["expansion_hops"] == 2


@st.composite
def ledgers(draw):
    """Random spend graphs: coinbase and spending transactions over three blocks, addresses from a small pool
    (None: no standard address), some inputs spending outputs the ledger lacks, some transactions unlisted,
    now and then an output spent twice (data a reorg left behind)."""
    n = draw(st.integers(1, 10))
    txs, unspent, spent = [], [], []
    for k in range(n):
        block = 1 + k * 3 // n
        name = f"t{k}"
        ins = draw(st.lists(st.sampled_from(unspent), unique=True, max_size=3)) if unspent else []
        if spent and draw(st.integers(0, 5)) == 0:
            ins.append(spent[0])
        unstored = [(f"gone{k}", j, draw(st.sampled_from(["A", "B", None])), 1_000)
                    for j in range(draw(st.integers(0, 1)))]
        outs = [(draw(st.sampled_from(["A", "B", "C", "D", None])), draw(st.integers(1, 400)))
                for _ in range(draw(st.integers(1, 3)))]
        txs.append((block, name, ins, outs, unstored, draw(st.integers(0, 4)) > 0))
        for x in ins:
            if x in unspent:
                unspent.remove(x)
                spent.append(x)
        unspent += [(name, j) for j in range(len(outs))]
    return txs


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledgers())
def test_index_matches_the_ledger(txs):
    con = store.connect(":memory:")
    try:
        u = Utxo(con)
        for block, name, ins, outs, unstored, listed in txs:
            have = sum(u.outs[i][1] for i in ins) + sum(x[3] for x in unstored)
            if ins or unstored:  # value conserved: outputs scaled into what the inputs bring
                total = sum(v for _a, v in outs)
                outs = [(a, max(v * have // (2 * total), 0)) for a, v in outs]
            u.tx(block, name, ins, outs, unstored=unstored, listed=listed)
        ensure_utxo_index(con, "bitcoin")
        assert sorted(con.execute(INDEX_SPENDS).fetchall(), key=repr) == sorted(
            con.execute(LEDGER_SPENDS).fetchall(), key=repr)
        # one id per hash, dense, listed ones first in block order; first input as utxo_inputs says
        rows = con.execute("SELECT id, hash, block_number, tx_index FROM utxo_trace_txs ORDER BY id").fetchall()
        assert [r[0] for r in rows] == list(range(len(rows)))
        listed = [r for r in rows if r[3] is not None]
        assert listed == rows[:len(listed)] and listed == sorted(listed, key=lambda r: (r[2], r[3], r[1]))
        first = """SELECT tx_hash, arg_min(address, input_index) FROM utxo_inputs GROUP BY tx_hash"""
        got = """SELECT x.hash, a.address FROM utxo_trace_txs x
                 JOIN utxo_trace_addresses a ON a.chain = x.chain AND a.id = x.first_input"""
        want = {(h, a) for h, a in con.execute(first).fetchall() if a is not None}
        assert set(con.execute(got).fetchall()) == want
    finally:
        con.close()


@pytest.mark.parametrize("model", ["poison", "haircut", "fifo"])
def test_seeded_continuation_by_hash(con, model):
    """A bridge release seeds the trace by (hash, output index); unknown hashes are ignored."""
    from chainsleuth.trace.account import Options
    from chainsleuth.trace.utxo import trace_utxo

    _partial(con)
    opts = Options(model=model, direction="forward", max_hops=10, min_value=0.0, gaps="proportional", demix=False,
                   demix_min_probability=0.5, follow_bridges=True)
    r = trace_utxo(con, [], "bitcoin", after=None, until=None, opts=opts, params={},
                   seeds=[("a", 0, 0.5, 3, "bridge"), ("unknown", 0, 1.0, 3, "bridge")])
    assert r.totals["by_asset"][0]["bridged_in"] == 15_000
    assert {x.address for x in r.resting} == {"X"}
    assert {e.hop for e in r.edges if e.tx_hash == "a"} == {3}  # the release keeps the hops before the bridge
