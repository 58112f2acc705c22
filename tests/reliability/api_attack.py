"""Attack requests generated from the server's OpenAPI spec: every path, query and JSON-body parameter of every
operation gets SQL-injection and path-traversal strings, one parameter at a time, the others valid."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

SQLI = [
    "' OR '1'='1", "1; DROP TABLE transfers; --", "x' UNION SELECT token_hash, name FROM api_tokens --",
    "\" OR 1=1 --", "0x' OR 1=1 --", "ethereum'; DELETE FROM tags; --", "1) OR (1=1", "%27%20OR%201=1",
]
TRAVERSAL = [
    "../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd", "/etc/passwd", "....//....//etc/passwd",
    "..\\..\\..\\windows\\win.ini", "report.html%00.json", "../world.duckdb", "%2e%2e%2f%2e%2e%2fworld.duckdb",
]
PAYLOADS = SQLI + TRAVERSAL

#: Parameters whose value is free text: a literal store or search is the right answer (2xx allowed); every
#: other parameter names a chain, address, hash, id, enum or number and must be refused with 4xx.
FREE_TEXT = {"label", "note", "actor", "name", "title", "case_id"}


@dataclass
class Attack:
    method: str
    template: str  # the OpenAPI path
    url: str
    params: dict[str, Any]
    body: dict[str, Any] | None
    target: str  # "in:name" of the attacked parameter
    payload: str

    @property
    def free_text(self) -> bool:
        return self.target.split(":", 1)[1] in FREE_TEXT


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def attacks(spec: dict, valid: dict[str, Any], bodies: dict[str, dict]) -> Iterator[Attack]:
    """One attack per (operation, parameter, payload). ``valid``: a good value per parameter name;
    ``bodies``: a good JSON body per path (for operations with a request body)."""
    for template, ops in spec["paths"].items():
        for method, op in ops.items():
            params = op.get("parameters", [])
            good_path = {p["name"]: valid[p["name"]] for p in params if p["in"] == "path"}
            good_query = {p["name"]: valid[p["name"]] for p in params if p["in"] == "query" and p.get("required")}
            body_schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            body = bodies.get(template) if body_schema else None
            targets = [(p["in"], p["name"]) for p in params]
            if body_schema:
                targets += [("body", k) for k in _resolve(spec, body_schema).get("properties", {})]
            for where, name in targets:
                for payload in PAYLOADS:
                    path_vals, query, b = dict(good_path), dict(good_query), dict(body) if body else None
                    if where == "path":
                        path_vals[name] = payload
                    elif where == "query":
                        query[name] = payload
                    else:
                        b[name] = [payload] if isinstance(b.get(name), list) else payload
                    url = template
                    for k, v in path_vals.items():
                        url = url.replace("{" + k + "}", quote(str(v), safe="%"))
                    yield Attack(method.upper(), template, url, query, b, f"{where}:{name}", payload)
