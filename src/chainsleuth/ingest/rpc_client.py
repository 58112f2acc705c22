"""A JSON-RPC 2.0 client for node ingestion: batches, retries with exponential backoff, clear final errors.

Nodes and the providers in front of them fail in a handful of ways: connection refused while a node
restarts, timeouts under load, HTTP 429 rate limits, 5xx from a proxy, truncated bodies, and JSON-RPC error
objects for transient trouble (``header not found``, ``limit exceeded``). All of these are retried with
exponential backoff and jitter (honouring ``Retry-After``); when the attempts run out the caller gets one
``RpcError`` naming the URL (credentials removed), the method and the last cause. Errors that retrying cannot
fix (method not found, invalid params, execution reverted) are raised at once.

Bulk reads use ``batch_text``, which returns the raw response body so that the ingesters can let DuckDB parse
megabytes of JSON in C++ instead of building Python dicts; per-item JSON-RPC errors in such a body are found
by the caller (see ``chainsleuth.ingest.evm_rpc``), which retries through ``retrying``.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from chainsleuth.errors import ChainsleuthError

T = TypeVar("T")

#: JSON-RPC error codes that no retry can fix.
PERMANENT_CODES = frozenset({-32600, -32601, -32602, -32700, 3})
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class RpcError(ChainsleuthError):
    """A node call that failed for good (after retries where retrying could help)."""

    def __init__(self, url: str, method: str, reason: str, code: int | None = None, attempts: int = 1):
        self.url, self.method, self.reason, self.code, self.attempts = url, method, reason, code, attempts
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(f"{url}: {method} failed{tries}: {reason}")


class RetryableError(Exception):
    """Raised inside ``retrying`` by a step whose failure another attempt may cure."""

    def __init__(self, method: str, reason: str, code: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.method, self.reason, self.code, self.retry_after = method, reason, code, retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; the wait before try k+1 is ``base * 2**k`` (jittered, capped at ``cap``)."""

    attempts: int = 6
    base: float = 0.25
    cap: float = 8.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        wait = min(self.cap, self.base * (2**attempt)) * (0.5 + random.random() / 2)
        if retry_after is not None:
            wait = max(wait, min(self.cap, retry_after))
        return wait


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """(URL without user:password, the basic-auth pair or None)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChainsleuthError(f"not an http(s) node URL: {redact(url)!r}")
    auth = None
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username is not None:
        auth = (unquote(parts.username), unquote(parts.password or ""))
    clean = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    return clean, auth


def redact(url: str) -> str:
    """``url`` with any user:password removed (for messages and provenance)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    except ValueError:
        return "<url>"


class JsonRpcClient:
    """Thread-safe JSON-RPC client over one pooled ``httpx.Client``."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 60.0,
        policy: RetryPolicy | None = None,
        auth: tuple[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.endpoint, url_auth = split_credentials(url)
        self.url = self.endpoint  # safe to print: no credentials
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._ids = 0
        self._lock = threading.Lock()
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
            headers={"content-type": "application/json"},
            auth=auth or url_auth,
            trust_env=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JsonRpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- retries ---------------------------------------------------------------------------------------

    def retrying(self, method: str, step: Callable[[], T]) -> T:
        """Run ``step`` until it stops raising ``RetryableError`` or the policy's attempts are spent."""
        last: RetryableError | None = None
        for attempt in range(self.policy.attempts):
            if attempt:
                self._sleep(self.policy.delay(attempt - 1, last.retry_after if last else None))
            try:
                return step()
            except RetryableError as exc:
                last = exc
        assert last is not None
        raise RpcError(self.url, last.method, last.reason, last.code, self.policy.attempts)

    # -- transport -------------------------------------------------------------------------------------

    def _next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    def _post(self, method: str, body: bytes) -> bytes:
        """One HTTP POST; transport trouble becomes ``RetryableError``, a hopeless answer ``RpcError``."""
        try:
            resp = self._http.post(self.endpoint, content=body)
        except httpx.TimeoutException as exc:
            raise RetryableError(method, f"timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise RetryableError(method, f"connection failed ({type(exc).__name__}: {exc})") from None
        if resp.status_code in RETRY_STATUS:
            after = resp.headers.get("retry-after")
            retry_after = float(after) if after and after.replace(".", "", 1).isdigit() else None
            raise RetryableError(method, f"HTTP {resp.status_code} {resp.reason_phrase}", retry_after=retry_after)
        if resp.status_code in (401, 403):
            raise RpcError(self.url, method, f"HTTP {resp.status_code}: check the node's credentials")
        if resp.status_code >= 400 and not resp.content.lstrip().startswith((b"{", b"[")):
            raise RpcError(self.url, method, f"HTTP {resp.status_code} {resp.reason_phrase}")
        return resp.content

    def post_json(self, method: str, payload: Any) -> Any:
        """POST ``payload`` and parse the reply; an unparsable (e.g. truncated) body is retryable."""
        raw = self._post(method, json.dumps(payload, separators=(",", ":")).encode())
        try:
            return json.loads(raw)
        except ValueError:
            raise RetryableError(method, f"unparsable response ({len(raw)} bytes)") from None

    # -- calls -----------------------------------------------------------------------------------------

    def call(self, method: str, params: Sequence[Any] = (), *, retry_errors: bool = True) -> Any:
        """One call; JSON-RPC errors are retried unless permanent (or ``retry_errors`` is False)."""

        def step() -> Any:
            reply = self.post_json(method, {"jsonrpc": "2.0", "id": self._next_id(), "method": method,
                                            "params": list(params)})
            if not isinstance(reply, dict):
                raise RetryableError(method, f"malformed reply: {str(reply)[:200]}")
            err = reply.get("error")
            if err:
                self._raise_error(method, err, retry=retry_errors)
            return reply.get("result")

        return self.retrying(method, step)

    def _raise_error(self, method: str, err: Any, *, retry: bool) -> None:
        code = err.get("code") if isinstance(err, dict) else None
        msg = err.get("message") if isinstance(err, dict) else str(err)
        reason = f"JSON-RPC error {code}: {msg}"
        if not retry or code in PERMANENT_CODES:
            raise RpcError(self.url, method, reason, code)
        raise RetryableError(method, reason, code)

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]], *, allow_errors: bool = False) -> list[Any]:
        """Results of ``calls`` in order, sent as one JSON-RPC batch.

        With ``allow_errors`` a failed item's result is its ``RpcError`` (not raised, not retried): token
        metadata calls revert on non-standard contracts and that is an answer, not a fault.
        """
        if not calls:
            return []
        method = calls[0][0] if len({m for m, _ in calls}) == 1 else "batch"

        def step() -> list[Any]:
            base = self._next_id() * 1_000_000
            payload = [{"jsonrpc": "2.0", "id": base + i, "method": m, "params": list(p)}
                       for i, (m, p) in enumerate(calls)]
            reply = self.post_json(method, payload)
            if isinstance(reply, dict) and reply.get("error"):  # whole batch refused
                self._raise_error(method, reply["error"], retry=True)
            if not isinstance(reply, list):
                raise RetryableError(method, f"malformed batch reply: {str(reply)[:200]}")
            by_id = {item.get("id"): item for item in reply if isinstance(item, dict)}
            out = []
            for i, (m, _) in enumerate(calls):
                item = by_id.get(base + i)
                if item is None:
                    raise RetryableError(m, f"batch reply lacks the answer to item {i} ({len(reply)} of {len(calls)})")
                if item.get("error"):
                    if allow_errors:
                        e = item["error"]
                        code = e.get("code") if isinstance(e, dict) else None
                        out.append(RpcError(self.url, m, f"JSON-RPC error {code}: {e}", code))
                        continue
                    self._raise_error(m, item["error"], retry=True)
                out.append(item.get("result"))
            return out

        return self.retrying(method, step)

    def batch_text(self, calls: Sequence[tuple[str, Sequence[Any]]], ids: Sequence[int]) -> str:
        """Send ``calls`` as one batch with the given ids; return the raw body (one attempt, no parsing).

        Callers wrap this in ``retrying`` and validate the body themselves (ids present, no error items).
        """
        payload = [{"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)} for i, (m, p) in zip(ids, calls, strict=True)]
        method = calls[0][0] if calls else "batch"
        raw = self._post(method, json.dumps(payload, separators=(",", ":")).encode())
        if raw.lstrip()[:1] == b"{":  # the whole batch was refused (too large, rate limited, ...)
            try:
                err = json.loads(raw).get("error") or {"message": raw[:200].decode("utf-8", "replace")}
            except ValueError:
                raise RetryableError(method, f"unparsable response ({len(raw)} bytes)") from None
            self._raise_error(method, err, retry=True)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise RetryableError(method, "response is not UTF-8") from None
