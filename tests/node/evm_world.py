"""A small on-chain world on anvil exercising every kind of value flow the EVM ingester must get right.

``build(eth, accounts)`` deploys the test contracts and sends the transactions; it returns ``World``, whose
``expect`` lists, per named transaction, the exact transfers (kind, position, from, to, asset, amount) the
store must hold for it afterwards. Amounts are computed here independently of the ingester.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .anvil import ETHER, Eth, calldata
from .solc import compile_all

NFT_TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


@dataclass
class World:
    accounts: list[str]
    contracts: dict[str, str] = field(default_factory=dict)  # name -> address
    txs: dict[str, str] = field(default_factory=dict)  # name -> tx hash
    #: tx name -> exact transfers: (kind, position, from, to, asset, amount)
    expect: dict[str, list[tuple[str, str, str | None, str | None, str, int]]] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)  # tx name -> receipt status
    first_block: int = 0
    last_block: int = 0


def _swap_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    with_fee = amount_in * 997
    return with_fee * reserve_out // (reserve_in * 1000 + with_fee)


def build(eth: Eth, accounts: list[str]) -> World:
    c = compile_all()
    a = accounts
    w = World(accounts=a, first_block=eth.block_number() + 1)

    def tx(name: str, frm: str, to: str | None, value: int = 0, data: str = "0x", gas: int = 500_000,
           expect: list | None = None) -> dict:
        r = eth.send(frm, to, value, data, gas)
        w.txs[name] = r["transactionHash"].lower()
        w.status[name] = int(r["status"], 16)
        w.expect[name] = expect or []
        return r

    # 1. A plain native transfer.
    tx("native", a[1], a[2], 3 * ETHER // 2, expect=[("native", "", a[1], a[2], "ETH", 3 * ETHER // 2)])

    # 2. ERC-20: the constructor mints (a Transfer from 0x0), then a transfer.
    token = eth.deploy(a[0], c["TestToken"], "Test USD", "TUSD", 6, 10**15)
    w.contracts["token"] = token
    tx("token", a[0], token, data=calldata("transfer(address,uint256)", a[3], 250_000_000),
       expect=[("token", "0", a[0], a[3], token, 250_000_000)])

    # 3. A non-standard token (bytes32 symbol/name, no decimals) and a junk amount beyond 2^127.
    sym = b"MKR".ljust(32, b"\0")
    odd = eth.deploy(a[0], c["Bytes32Token"], sym, b"Maker".ljust(32, b"\0"), 10**21)
    w.contracts["bytes32token"] = odd
    tx("odd_token", a[0], odd, data=calldata("transfer(address,uint256)", a[4], 5 * 10**18),
       expect=[("token", "0", a[0], a[4], odd, 5 * 10**18)])
    tx("junk", a[0], odd, data=calldata("junk(address)", a[4]),
       expect=[("token", "0", a[0], a[4], odd, 2**256 - 2)])

    # 4. ERC-721 shaped Transfer (token id indexed): not a token amount.
    nft = eth.deploy(a[0], c["TestNFT"])
    w.contracts["nft"] = nft
    tx("nft", a[0], nft, data=calldata("mint(address,uint256)", a[5], 7), expect=[])

    # 5. Internal transfers through forwarders.
    f1 = eth.deploy(a[0], c["Forwarder"])
    f2 = eth.deploy(a[0], c["Forwarder"])
    w.contracts.update(forwarder=f1, forwarder2=f2)
    tx("forward", a[1], f1, ETHER, calldata("forward(address)", a[6]),
       expect=[("native", "", a[1], f1, "ETH", ETHER), ("internal", "0", f1, a[6], "ETH", ETHER)])
    tx("split", a[1], f1, 3 * ETHER, calldata("split(address,address,uint256)", a[6], a[7], ETHER),
       expect=[("native", "", a[1], f1, "ETH", 3 * ETHER), ("internal", "0", f1, a[6], "ETH", ETHER),
               ("internal", "1", f1, a[7], "ETH", 2 * ETHER)])
    tx("relay", a[1], f1, ETHER // 2, calldata("relay(address,address)", f2, a[8]),
       expect=[("native", "", a[1], f1, "ETH", ETHER // 2), ("internal", "0", f1, f2, "ETH", ETHER // 2),
               ("internal", "0,0", f2, a[8], "ETH", ETHER // 2)])
    # 6. An inner call that reverts and is caught: its value never moves (nor its children's).
    tx("caught_revert", a[1], f1, ETHER // 4, calldata("tryForward(address,address)", f2, a[8]),
       expect=[("native", "", a[1], f1, "ETH", ETHER // 4)])
    # 7. A failed transaction: no value moves at all.
    tx("failed", a[1], f1, 3 * ETHER // 4, calldata("failAfterForward(address)", a[8]), expect=[])

    # 8. An internal contract creation carrying value.
    r = tx("spawn", a[1], f1, 2 * ETHER, calldata("spawn(uint256)", 2 * ETHER))
    spawned = next(log for log in eth.rpc("trace_transaction", w.txs["spawn"]) if log["type"] == "create")
    child = spawned["result"]["address"].lower()
    w.contracts["spawned"] = child
    w.expect["spawn"] = [("native", "", a[1], f1, "ETH", 2 * ETHER), ("internal", "0", f1, child, "ETH", 2 * ETHER)]
    del r

    # 9. A contract creation with value, then 10. its self-destruct paying out.
    piggy_r = eth.send(a[2], None, 3 * ETHER // 10, c["Piggy"].bytecode, 1_000_000)
    piggy = piggy_r["contractAddress"].lower()
    w.contracts["piggy"] = piggy
    w.txs["create_with_value"] = piggy_r["transactionHash"].lower()
    w.status["create_with_value"] = int(piggy_r["status"], 16)
    w.expect["create_with_value"] = [("native", "", a[2], piggy, "ETH", 3 * ETHER // 10)]
    tx("selfdestruct", a[2], piggy, 0, calldata("destroy(address)", a[9]),
       expect=[("internal", "0", piggy, a[9], "ETH", 3 * ETHER // 10)])

    # 11. A fixed-denomination mixer: two deposits, one withdrawal through a relayer (fee).
    mixer = eth.deploy(a[0], c["FixedMixer"], ETHER)
    w.contracts["mixer"] = mixer
    tx("deposit1", a[3], mixer, ETHER, calldata("deposit(bytes32)", b"\x01" * 32),
       expect=[("native", "", a[3], mixer, "ETH", ETHER)])
    tx("deposit2", a[4], mixer, ETHER, calldata("deposit(bytes32)", b"\x02" * 32),
       expect=[("native", "", a[4], mixer, "ETH", ETHER)])
    fee = ETHER // 100
    tx("withdraw", a[6], mixer, 0, calldata("withdraw(address,bytes32,address,uint256)", a[5], b"\x09" * 32, a[6], fee),
       expect=[("internal", "0", mixer, a[5], "ETH", ETHER - fee), ("internal", "1", mixer, a[6], "ETH", fee)])

    # 12. A swap pool: liquidity, ETH -> token, token -> ETH.
    pool = eth.deploy(a[0], c["SwapPool"], token)
    w.contracts["pool"] = pool
    liq_tokens, liq_eth = 100_000 * 10**6, 10 * ETHER
    tx("approve", a[0], token, 0, calldata("approve(address,uint256)", pool, 2**256 - 1))
    tx("add_liquidity", a[0], pool, liq_eth, calldata("addLiquidity(uint256)", liq_tokens),
       expect=[("native", "", a[0], pool, "ETH", liq_eth), ("token", "0", a[0], pool, token, liq_tokens)])
    out1 = _swap_out(ETHER, liq_eth, liq_tokens)
    tx("swap_eth_for_token", a[3], pool, ETHER, calldata("ethToToken(uint256)", 0),
       expect=[("native", "", a[3], pool, "ETH", ETHER), ("token", "0", pool, a[3], token, out1)])
    tx("approve2", a[3], token, 0, calldata("approve(address,uint256)", pool, 2**256 - 1))
    back_in = out1 // 2
    out2 = _swap_out(back_in, liq_tokens - out1, liq_eth + ETHER)
    tx("swap_token_for_eth", a[3], pool, 0, calldata("tokenToEth(uint256,uint256)", back_in, 0),
       expect=[("token", "0", a[3], pool, token, back_in), ("internal", "1", pool, a[3], "ETH", out2)])

    w.last_block = eth.block_number()
    return w
