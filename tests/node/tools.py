"""Where the node tools live, and what to do when one is missing: fail in CI, skip locally."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".tools"
ANVIL = TOOLS / "anvil"
BITCOIND = TOOLS / "bitcoind"
SOLCJS = TOOLS / "node_modules" / "solc" / "solc.js"
ETHEREUMETL = TOOLS / "ethetl-venv" / "bin" / "ethereumetl"
SETUP = "bash scripts/setup-node-tools.sh .venv"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(path: Path, what: str) -> Path:
    """``path`` if it exists; otherwise fail under CI (set-up must have installed it) or skip locally."""
    if path.exists():
        return path
    msg = f"{what} not installed at {path} (run `{SETUP}`)"
    if in_ci():
        pytest.fail(msg)
    pytest.skip(msg)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
