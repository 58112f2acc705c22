"""An anvil process on a free 127.0.0.1 port, and a small raw JSON-RPC helper to drive it."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import httpx
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from .solc import Compiled
from .tools import ANVIL, free_port, require

#: anvil's default dev accounts (unlocked: eth_sendTransaction needs no signing).
GAS_PRICE = 2_000_000_000
ETHER = 10**18


class Anvil:
    """A running anvil; ``stop()`` (or the context manager) kills it."""

    def __init__(self, *extra: str, block_base_fee: int = 0):
        binary = require(ANVIL, "anvil (npm @foundry-rs/anvil)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(binary), "--host", "127.0.0.1", "--port", str(self.port), "--silent",
             "--base-fee", str(block_base_fee), "--gas-limit", "1000000000", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        self.eth = Eth(self.url)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.eth.rpc("eth_chainId")
                break
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    self.stop()
                    raise RuntimeError(f"anvil did not start: {err[-2000:]}") from None
                time.sleep(0.05)
        self.accounts = [a.lower() for a in self.eth.rpc("eth_accounts")]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # in-memory chain: nothing to flush
            self.proc.wait()
        self.eth.close()

    def __enter__(self) -> Anvil:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Eth:
    """Raw JSON-RPC: send transactions with explicit gas, deploy, call. No web3 gas lookups."""

    def __init__(self, url: str):
        self.url = url
        self.http = httpx.Client(timeout=120, trust_env=False)
        self._id = 0

    def close(self) -> None:
        self.http.close()

    def rpc(self, method: str, *params: Any) -> Any:
        self._id += 1
        r = self.http.post(self.url, json={"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)})
        r.raise_for_status()
        body = r.json()
        if body.get("error"):
            raise RuntimeError(f"{method}: {body['error']}")
        return body["result"]

    def batch(self, calls: list[tuple[str, list]]) -> list[Any]:
        payload = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        r = self.http.post(self.url, json=payload)
        r.raise_for_status()
        items = sorted(r.json(), key=lambda x: x["id"])
        for it in items:
            if it.get("error"):
                raise RuntimeError(f"batch item {it['id']}: {it['error']}")
        return [it["result"] for it in items]

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def tx_params(self, frm: str, to: str | None, value: int = 0, data: str = "0x", gas: int = 500_000) -> dict:
        p = {"from": frm, "value": hex(value), "data": data, "gas": hex(gas),
             "maxFeePerGas": hex(GAS_PRICE), "maxPriorityFeePerGas": hex(GAS_PRICE)}
        if to is not None:
            p["to"] = to
        return p

    def send(self, frm: str, to: str | None, value: int = 0, data: str = "0x", gas: int = 500_000) -> dict:
        """Send and (automine) return the receipt; a reverted transaction is mined with status 0."""
        h = self.rpc("eth_sendTransaction", self.tx_params(frm, to, value, data, gas))
        return self.receipt(h)

    def receipt(self, h: str, timeout: float = 30.0) -> dict:
        """Wait for ``h`` to be mined (anvil's automine answers before the block exists)."""
        deadline = time.monotonic() + timeout
        while (receipt := self.rpc("eth_getTransactionReceipt", h)) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no receipt for {h} after {timeout}s (automine off?)")
            time.sleep(0.01)
        return receipt

    def deploy(self, frm: str, contract: Compiled, *args: Any, value: int = 0, gas: int = 5_000_000) -> str:
        data = contract.bytecode + encode_args(contract, "constructor", args)
        receipt = self.send(frm, None, value, data, gas)
        if int(receipt["status"], 16) != 1:
            raise RuntimeError(f"deploying {contract.name} failed")
        return receipt["contractAddress"].lower()

    def call(self, to: str, signature: str, *args: Any) -> str:
        return self.rpc("eth_call", {"to": to, "data": calldata(signature, *args)}, "latest")


def _types(signature: str) -> list[str]:
    inner = signature[signature.index("(") + 1:signature.rindex(")")]
    return [t for t in inner.split(",") if t]


def calldata(signature: str, *args: Any) -> str:
    """ABI call data for ``signature`` like ``transfer(address,uint256)``."""
    args = tuple(to_checksum_address(a) if isinstance(a, str) and a.startswith("0x") and len(a) == 42 else a for a in args)
    return "0x" + (function_signature_to_4byte_selector(signature) + encode(_types(signature), list(args))).hex()


def encode_args(contract: Compiled, kind: str, args: tuple) -> str:
    if not args:
        return ""
    entry = next(e for e in contract.abi if e["type"] == kind)
    types = [i["type"] for i in entry["inputs"]]
    args = tuple(to_checksum_address(a) if t == "address" else a for t, a in zip(types, args, strict=True))
    return encode(types, list(args)).hex()
