"""Value is conserved on both chains: no balance ever goes negative, totals equal what was minted, every
UTXO output is spent at most once and only after it exists."""

from __future__ import annotations

ZERO = "0x" + "0" * 40


def test_evm_balances_never_negative(world_db):
    """Running balance per (address, asset) in execution order: gas is charged when a transaction starts."""
    worst = world_db.execute(f"""
        WITH ev AS (
            SELECT frm AS address, asset, block, txi, seq, -amount AS delta FROM eth_moves WHERE frm IS NOT NULL
            UNION ALL SELECT "to", asset, block, txi, seq, amount FROM eth_moves
            UNION ALL SELECT payer, 'ETH', block, txi, -1, -fee FROM eth_fees),
        run AS (SELECT address, asset, sum(delta) OVER (PARTITION BY address, asset ORDER BY block, txi, seq
                                                       ROWS UNBOUNDED PRECEDING) AS bal FROM ev)
        SELECT address, asset, min(bal) AS low FROM run WHERE address <> '{ZERO}'
        GROUP BY ALL ORDER BY low LIMIT 1""").fetchone()
    assert worst is not None and worst[2] >= 0, f"negative balance: {worst}"
    n = world_db.execute("SELECT count(*) FROM eth_moves").fetchone()[0]
    assert n > 50_000


def test_evm_totals_equal_minted(world_db):
    """ETH: the final balances (all >= 0) add up to the genesis allocations minus the burnt fees.
    Tokens: holdings add up to what was minted from the zero address."""
    genesis, fees = world_db.execute("""SELECT (SELECT sum(amount) FROM eth_moves WHERE frm IS NULL),
                                               (SELECT sum(fee) FROM eth_fees)""").fetchone()
    total, low = world_db.execute("""
        WITH ev AS (SELECT frm AS a, -amount AS d FROM eth_moves WHERE asset = 'ETH' AND frm IS NOT NULL
                    UNION ALL SELECT "to", amount FROM eth_moves WHERE asset = 'ETH'
                    UNION ALL SELECT payer, -fee FROM eth_fees),
             bal AS (SELECT a, sum(d) AS b FROM ev GROUP BY a)
        SELECT sum(b), min(b) FROM bal""").fetchone()
    assert fees > 0 and low >= 0
    assert total == genesis - fees
    rows = world_db.execute(f"""
        SELECT asset, sum(CASE WHEN frm = '{ZERO}' THEN amount ELSE 0 END) AS minted,
               sum(CASE WHEN "to" <> '{ZERO}' THEN amount ELSE 0 END) - sum(CASE WHEN frm <> '{ZERO}' THEN amount ELSE 0 END)
        FROM eth_moves WHERE asset <> 'ETH' GROUP BY asset""").fetchall()
    assert len(rows) == 3
    for asset, minted, held in rows:
        assert minted > 0 and held == minted, asset


def test_failed_transactions_move_nothing(world_db):
    failed = world_db.execute("""SELECT count(*), count(*) FILTER (WHERE value <> '0') FROM eth_transactions
                                 WHERE receipt_status = '0'""").fetchone()
    assert failed[0] > 100 and failed[1] > 100  # failed calls that carried value
    logs = world_db.execute("""SELECT count(*) FROM eth_token_transfers l JOIN eth_transactions t ON t.hash = l.transaction_hash
                               WHERE t.receipt_status = '0'""").fetchone()[0]
    assert logs == 0
    bad = world_db.execute("""SELECT count(*) FROM eth_traces r JOIN eth_transactions t ON t.hash = r.transaction_hash
                              WHERE t.receipt_status = '0' AND (r.status <> '0' OR coalesce(r.trace_address, '') <> '')""").fetchone()[
        0
    ]
    assert bad == 0


def test_utxo_outputs_spent_once_and_after_creation(world_db):
    dup = world_db.execute(
        "SELECT spent_tx, spent_vout, count(*) c FROM btc_in GROUP BY ALL HAVING c > 1 LIMIT 1"
    ).fetchone()
    assert dup is None
    orphan = world_db.execute("""
        SELECT i.tx, i.vin FROM btc_in i LEFT JOIN btc_out o ON o.tx = i.spent_tx AND o.vout = i.spent_vout
        WHERE o.tx IS NULL OR o.value <> i.value OR o.address <> i.address
           OR o.block_number > i.block_number OR (o.block_number = i.block_number AND o.tx_index >= i.tx_index)
        LIMIT 1""").fetchone()
    assert orphan is None


def test_utxo_fees_and_supply(world_db):
    neg = world_db.execute(
        "SELECT count(*) FROM btc_tx WHERE NOT is_coinbase AND (input_value < output_value OR fee < 0 "
        "OR fee <> input_value - output_value)"
    ).fetchone()[0]
    assert neg == 0
    bad_cb = world_db.execute("""
        WITH f AS (SELECT block_number, sum(fee) AS fees FROM btc_tx WHERE NOT is_coinbase GROUP BY ALL)
        SELECT c.block_number FROM btc_tx c LEFT JOIN f USING (block_number)
        WHERE c.is_coinbase AND c.block_number > 0 AND c.output_value <> 312500000 + coalesce(f.fees, 0) LIMIT 1""").fetchone()
    assert bad_cb is None
    unspent, genesis, blocks = world_db.execute("""
        SELECT (SELECT sum(o.value) FROM btc_out o ANTI JOIN btc_in i ON i.spent_tx = o.tx AND i.spent_vout = o.vout),
               (SELECT output_value FROM btc_tx WHERE block_number = 0),
               (SELECT max(number) FROM btc_blocks)""").fetchone()
    assert unspent == genesis + 312_500_000 * blocks
