"""A benchmark chain on anvil: ``blocks`` blocks of ``txs_per_block`` transactions each, a realistic mix of
native transfers, ERC-20 transfers and calls that forward ETH internally (so receipts carry logs and traces
carry internal transfers)."""

from __future__ import annotations

from .anvil import ETHER, Anvil, calldata
from .solc import compile_all


def build_bench_chain(node: Anvil, blocks: int, txs_per_block: int = 100) -> tuple[int, int]:
    """Mine the chain; returns (first, last) block numbers of the benchmark range."""
    c = compile_all()
    eth, a = node.eth, node.accounts
    token = eth.deploy(a[0], c["TestToken"], "Bench USD", "BUSD", 6, 10**30)
    fwd = eth.deploy(a[0], c["Forwarder"])
    senders = a[1:10]
    # Give every sender tokens to move.
    for s in senders:
        eth.send(a[0], token, 0, calldata("transfer(address,uint256)", s, 10**24), 200_000)
    eth.rpc("evm_setAutomine", False)
    first = eth.block_number() + 1
    n_native, n_token = int(txs_per_block * 0.6), int(txs_per_block * 0.3)  # the rest: forwarder calls
    for b in range(blocks):
        calls = []
        for i in range(txs_per_block):
            s = senders[i % len(senders)]
            to = "0x" + f"{(b * txs_per_block + i) % 5000 + 1:040x}"
            if i < n_native:
                p = eth.tx_params(s, to, ETHER // 1000 + i, "0x", 21_000)
            elif i < n_native + n_token:
                p = eth.tx_params(s, token, 0, calldata("transfer(address,uint256)", to, 10**6 + i), 100_000)
            else:
                p = eth.tx_params(s, fwd, ETHER // 100, calldata("forward(address)", to), 100_000)
            calls.append(("eth_sendTransaction", [p]))
        eth.batch(calls)
        eth.rpc("evm_mine")
    eth.rpc("evm_setAutomine", True)
    last = eth.block_number()
    return first, last
