"""API tokens: 256-bit random secrets shown once; only their SHA-256 is stored (a high-entropy token needs
no salt or slow hash: it cannot be guessed from its digest)."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

import duckdb

from chainsleuth.errors import ChainsleuthError, NotFoundError
from chainsleuth.store import transaction

PREFIX = "cs_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """A new token for ``name`` (replacing an earlier one of that name). Returned once, never stored."""
    if not _NAME.fullmatch(name):
        raise ChainsleuthError(f"invalid token name {name!r}: letters, digits, _ . @ - (max 64)")
    token = PREFIX + secrets.token_urlsafe(32)
    with transaction(con):
        con.execute("DELETE FROM api_tokens WHERE name = ?", [name])
        con.execute("INSERT INTO api_tokens (name, token_hash) VALUES (?, ?)", [name, digest(token)])
    return token


def verify_token(con: duckdb.DuckDBPyConnection, token: str) -> str | None:
    """The token's name, or None for an unknown or revoked token."""
    row = con.execute("SELECT name FROM api_tokens WHERE token_hash = ? AND NOT revoked", [digest(token)]).fetchone()
    return row[0] if row else None


def list_tokens(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = con.execute("SELECT name, created_at, last_used_at, revoked FROM api_tokens ORDER BY name").fetchall()
    return [dict(zip(["name", "created_at", "last_used_at", "revoked"], r, strict=True)) for r in rows]


def revoke_token(con: duckdb.DuckDBPyConnection, name: str) -> None:
    with transaction(con):
        n = con.execute("UPDATE api_tokens SET revoked = true WHERE name = ? RETURNING 1", [name]).fetchall()
    if not n:
        raise NotFoundError(f"no API token named {name!r}")
