"""Request guards of the API server, as plain ASGI middleware: a request-size limit and a per-client rate
limit (token bucket: ``per_minute`` requests per minute, bursts up to ``burst``)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from fastapi import HTTPException

Scope = dict[str, Any]


async def _reject(send: Any, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """413 for a request whose declared or actual body exceeds ``max_bytes``."""

    def __init__(self, app: Any, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await _reject(send, 413, f"request body larger than {self.max_bytes} bytes")
        seen = 0
        started = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    # an HTTPException passes FastAPI's body parsing unchanged and becomes a JSON 413
                    raise HTTPException(413, f"request body larger than {self.max_bytes} bytes")
            return msg

        async def tracking_send(msg: dict[str, Any]) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except HTTPException as exc:
            if started or exc.status_code != 413:
                raise
            await _reject(send, 413, str(exc.detail))


class RateLimit:
    """429 with Retry-After once a client (by address) exceeds its token bucket; ``per_minute=0`` disables."""

    def __init__(self, app: Any, per_minute: int, burst: int | None = None):
        self.app = app
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(per_minute // 4, 1))
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.rate <= 0 or not scope["path"].startswith("/api/"):
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("?", 0))[0]
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self.buckets[client] = (tokens - 1.0 if allowed else tokens, now)
            if len(self.buckets) > 10_000:  # forget idle clients
                self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < 600}
        if not allowed:
            wait = max(1, int((1.0 - tokens) / self.rate + 0.999))
            return await _reject(send, 429, "rate limit exceeded: slow down",
                                 [(b"retry-after", str(wait).encode())])
        await self.app(scope, receive, send)
