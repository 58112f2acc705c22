"""Webhook delivery of alerts: a JSON POST with a short timeout and one retry; the outcome is returned, never
raised, so an unreachable receiver cannot stop monitoring."""

from __future__ import annotations

from typing import Any

import httpx

from chainsleuth.errors import ChainsleuthError


def check_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ChainsleuthError(f"webhook URL must start with http:// or https://: {url!r}")
    return url


def deliver(url: str, payload: dict[str, Any], *, timeout: float = 5.0, attempts: int = 2) -> str:
    """POST ``payload``; ``'ok'`` on a 2xx answer, else a short description of the last failure."""
    error = "not attempted"
    for _ in range(attempts):
        try:
            r = httpx.post(url, json={"type": "chainsleuth.alert", "alert": payload}, timeout=timeout)
        except httpx.HTTPError as exc:
            error = f"error: {type(exc).__name__}: {exc}"
            continue
        if 200 <= r.status_code < 300:
            return "ok"
        error = f"error: HTTP {r.status_code}"
    return error[:200]
