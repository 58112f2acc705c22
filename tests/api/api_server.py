"""A real chainsleuth API server (uvicorn in a subprocess) on a free loopback port, and token creation via
the CLI; shared by the API and browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, db: Path, **options: object):
        self.db, self.port = db, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = ", ".join(f"{k}={v!r}" for k, v in options.items())
        code = (f"from chainsleuth.api import serve; serve({str(db)!r}, port={self.port}, log_level='warning'"
                f"{', ' + args if args else ''})")
        self.proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ},
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.proc.stdout.read().decode()[-2000:])
            try:
                if httpx.get(self.url + "/api/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start in 30 s")

    def stop(self) -> str:
        """Stop the server; returns its log (printed, so a failing test shows the server's traceback)."""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        log = self.proc.stdout.read().decode(errors="replace")
        print(log[-5000:])
        return log


def create_token(db: Path, name: str) -> str:
    out = subprocess.run([sys.executable, "-m", "chainsleuth.cli", "api", "token", "create", name, "--db", str(db)],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]
