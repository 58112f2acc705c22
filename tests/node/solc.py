"""Compile the test contracts offline with solc-js (``--standard-json``), caching the output in ``.tools``."""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .tools import SOLCJS, TOOLS, require

CONTRACTS = Path(__file__).resolve().parent / "contracts"


@dataclass(frozen=True)
class Compiled:
    name: str
    abi: list
    bytecode: str  # 0x-prefixed creation code


def compile_all() -> dict[str, Compiled]:
    """Every contract in ``tests/node/contracts/*.sol`` by name."""
    solc = require(SOLCJS, "solc-js (npm solc)")
    sources = {p.name: {"content": p.read_text()} for p in sorted(CONTRACTS.glob("*.sol"))}
    request = {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "optimizer": {"enabled": True, "runs": 200},
            "evmVersion": "cancun",
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    body = json.dumps(request, sort_keys=True)
    key = hashlib.sha256((body + solc.resolve().parent.name).encode()).hexdigest()[:16]
    cache = TOOLS / "contracts-cache" / f"{key}.json"
    if cache.exists():
        output = json.loads(cache.read_text())
    else:
        proc = subprocess.run(["node", str(solc), "--standard-json"], input=body, capture_output=True, text=True,
                              check=True, timeout=300)
        # solc-js may print a note (">>> Cannot retry compilation with SMT ...") before the JSON.
        output = json.loads(proc.stdout[proc.stdout.index("{"):])
        errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
        if errors:
            raise RuntimeError("solc: " + "\n".join(e["formattedMessage"] for e in errors))
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(output))
    out = {}
    for contracts in output["contracts"].values():
        for name, c in contracts.items():
            out[name] = Compiled(name, c["abi"], "0x" + c["evm"]["bytecode"]["object"])
    return out
