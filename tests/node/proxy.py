"""A fault-injecting HTTP proxy in front of a local node (127.0.0.1 only), for retry and error tests.

``FaultProxy(upstream).plan(["429", "drop", "ok", ...])`` answers the next requests with those faults, then
forwards normally. Faults: ``429`` (Too Many Requests), ``503``, ``rpc-error`` (a JSON-RPC error object per
item, code -32005), ``drop`` (close the connection without answering), ``truncate`` (half a body),
``delay:<seconds>`` (then forward), ``ok`` (forward).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from .tools import free_port


class FaultProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream
        self.faults: deque[str] = deque()
        self.requests = 0
        self.lock = threading.Lock()
        self.http = httpx.Client(timeout=60, trust_env=False)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with proxy.lock:
                    proxy.requests += 1
                    fault = proxy.faults.popleft() if proxy.faults else "ok"
                if fault.startswith("delay:"):
                    time.sleep(float(fault.split(":", 1)[1]))
                    fault = "ok"
                if fault == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault in ("429", "503"):
                    self._reply(int(fault), b'{"error": "slow down"}', retry_after="0")
                    return
                if fault == "rpc-error":
                    req = json.loads(body)
                    items = req if isinstance(req, list) else [req]
                    errs = [{"jsonrpc": "2.0", "id": it.get("id"),
                             "error": {"code": -32005, "message": "limit exceeded"}} for it in items]
                    self._reply(200, json.dumps(errs if isinstance(req, list) else errs[0]).encode())
                    return
                up = proxy.http.post(proxy.upstream, content=body, headers={"content-type": "application/json"})
                data = up.content
                if fault == "truncate":
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.close_connection = True
                    self.connection.close()
                    return
                self._reply(up.status_code, data)

            def _reply(self, status: int, data: bytes, retry_after: str | None = None) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                if retry_after is not None:
                    self.send_header("retry-after", retry_after)
                self.end_headers()
                self.wfile.write(data)

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:  # noqa: ANN001
                pass  # clients that time out close early: broken pipes are expected here

        self.server = Server(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def plan(self, faults: list[str]) -> FaultProxy:
        with self.lock:
            self.faults = deque(faults)
            self.requests = 0
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.http.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
