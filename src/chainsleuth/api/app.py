"""The REST API and web UI server (FastAPI). Thin by design: each endpoint validates its input, calls one
library function (screen, watch, report, labels, detect, trace) and returns its result as JSON.

Conventions: amounts are exact base-unit decimal strings; lists are paginated (``limit``/``offset``, with
``total``); errors are ``{"error": message}`` with 400 (bad input), 401/403 (auth), 404, 413 (too large),
422 (validation, with ``details``), 429 (rate limit), 503 (an optional analysis package not installed).
Writes need ``Authorization: Bearer <token>``; with ``auth_reads`` so do reads.
"""


import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import duckdb
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles

from chainsleuth import screen as screening
from chainsleuth import store, watch
from chainsleuth.api import schemas
from chainsleuth.api.guards import BodyLimit, RateLimit
from chainsleuth.api.tokens import verify_token
from chainsleuth.errors import AddressError, ChainsleuthError, InputError, NotFoundError
from chainsleuth.jsonable import to_jsonable
from chainsleuth.report import casework
from chainsleuth.screen import profile
from chainsleuth.store.ledger import summary

WEB_DIR = Path(__file__).resolve().parent.parent / "web" / "static"
MAX_LIMIT = 1000
_REPORT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,120}$")


class JSON(JSONResponse):
    """JSON with the project's convention: big ints as strings, datetimes ISO 8601."""

    def render(self, content: Any) -> bytes:
        return json.dumps(to_jsonable(content), separators=(",", ":")).encode()


def page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (max 1000).")] = 100,
    offset: Annotated[int, Query(ge=0, le=2**62, description="Rows to skip.")] = 0,
) -> tuple[int, int]:
    return limit, offset


Page = Annotated[tuple[int, int], Depends(page)]


def paged(items: list[Any], total: int, pg: tuple[int, int]) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": pg[0], "offset": pg[1]}


def create_app(
    db: str | Path,
    *,
    auth_reads: bool = False,
    rate_limit: int = 600,
    max_body: int = 1_000_000,
    reports_dir: str | Path | None = None,
) -> FastAPI:
    """The API app over the database ``db`` (opened once; each request works on its own cursor)."""
    con = store.connect(db)
    reports = Path(reports_dir or Path(str(db)).resolve().parent / "reports").resolve()
    write_lock = threading.Lock()  # one analyst write at a time: simple and conflict-free in DuckDB
    bearer = HTTPBearer(auto_error=False)

    app = FastAPI(
        title="chainsleuth API",
        version="1",
        description="Blockchain forensics: addresses, tags, tracing, incidents, attribution, screening, "
                    "watch-lists and reports. Amounts are exact base-unit decimal strings.",
        default_response_class=JSON,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.con = con
    app.state.reports_dir = reports

    def cursor() -> Iterator[duckdb.DuckDBPyConnection]:
        cur = con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    Cur = Annotated[duckdb.DuckDBPyConnection, Depends(cursor)]

    def _who(creds: HTTPAuthorizationCredentials | None, cur: duckdb.DuckDBPyConnection) -> str:
        if creds is None or creds.scheme.lower() != "bearer":
            raise HTTPException(401, "missing API token: send Authorization: Bearer <token>",
                                headers={"WWW-Authenticate": "Bearer"})
        name = verify_token(cur, creds.credentials)
        if name is None:
            raise HTTPException(403, "invalid or revoked API token")
        return name

    def writer(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)], cur: Cur) -> str:
        return _who(creds, cur)

    def reader(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)], cur: Cur) -> str | None:
        return _who(creds, cur) if auth_reads else None

    Writer = Annotated[str, Depends(writer)]

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSON:
        details = [{"loc": [str(x) for x in e.get("loc", ())], "msg": e.get("msg")} for e in exc.errors()]
        first = details[0] if details else {"loc": [], "msg": "invalid"}
        return JSON({"error": f"invalid {'.'.join(first['loc'][1:]) or 'request'}: {first['msg']}",
                     "details": details}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSON:
        return JSON({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(NotFoundError)
    async def _nf(_: Request, exc: NotFoundError) -> JSON:
        return JSON({"error": str(exc)}, status_code=404)

    @app.exception_handler(ChainsleuthError)
    async def _bad(_: Request, exc: ChainsleuthError) -> JSON:
        return JSON({"error": str(exc)}, status_code=400)

    @app.exception_handler(ValueError)
    async def _value(_: Request, exc: ValueError) -> JSON:
        return JSON({"error": str(exc)}, status_code=400)

    api = APIRouter(prefix="/api/v1", dependencies=[Depends(reader)])
    # Filters are validated like body fields: injection or traversal strings get 422, never an empty 200.
    chain_re = r"^[a-z][a-z0-9_]{0,31}$"
    ChainQ = Annotated[str | None, Query(pattern=chain_re)]
    ChainP = Annotated[str, PathParam(pattern=chain_re)]
    AddressQ = Annotated[str | None, Query(pattern=r"^[0-9A-Za-z:]{1,128}$")]
    CategoryQ = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_\-]{1,40}$")]

    # -- info, search, addresses ------------------------------------------------------------------------
    @api.get("/info", tags=["info"], summary="What is stored: chains, ranges, counts, prices, tags")
    def info(cur: Cur) -> Any:
        return summary(cur)

    @api.get("/assets", tags=["info"], summary="Symbols and decimals of a chain's assets")
    def assets(cur: Cur, chain: Annotated[str, Query(pattern=chain_re)] = "ethereum") -> Any:
        rows = cur.execute("SELECT asset, symbol, decimals FROM assets WHERE chain = ? ORDER BY asset", [chain]).fetchall()
        return {"chain": chain, "items": [{"asset": a, "symbol": s, "decimals": d} for a, s, d in rows]}

    @api.get("/search", tags=["info"], summary="Classify a query: incident, case, transaction or address")
    def search(cur: Cur, q: Annotated[str, Query(min_length=1, max_length=200)]) -> Any:
        return _search(cur, q.strip())

    @api.get("/chains/{chain}/addresses/{address}", tags=["addresses"], summary="Address profile")
    def address(cur: Cur, chain: str, address: str) -> Any:
        return profile.address_profile(cur, chain, address)

    @api.get("/chains/{chain}/addresses/{address}/neighbours", tags=["addresses"],
             summary="Counterparties, largest value first (for graph expansion)")
    def neighbours(cur: Cur, chain: str, address: str, pg: Page,
                   direction: Annotated[str, Query(pattern="^(in|out|both)$")] = "both") -> Any:
        return profile.neighbours(cur, chain, address, direction=direction, limit=pg[0], offset=pg[1])  # type: ignore[arg-type]

    @api.get("/chains/{chain}/addresses/{address}/labels", tags=["addresses"],
             summary="Every label candidate (tags, cluster, deposit heuristic), best first")
    def address_labels(cur: Cur, chain: ChainP, address: str) -> Any:
        from chainsleuth.labels import label_candidates
        from chainsleuth.model import normalize_address

        return {"items": label_candidates(cur, chain, normalize_address(address, chain))}

    @api.get("/chains/{chain}/tx/{tx_hash}", tags=["addresses"], summary="Value movements of a transaction")
    def tx(cur: Cur, chain: str, tx_hash: str) -> Any:
        return profile.transaction(cur, chain, tx_hash)

    # -- tags and notes -----------------------------------------------------------------------------------
    @api.get("/tags", tags=["tags"], summary="Stored tags (filter by chain, address, category)")
    def tags(cur: Cur, pg: Page, chain: ChainQ = None, address: AddressQ = None, category: CategoryQ = None) -> Any:
        where = "WHERE (? IS NULL OR chain = ?) AND (? IS NULL OR address = ?) AND (? IS NULL OR category = ?)"
        a = address.lower() if address and address.startswith("0x") else address
        params = [chain, chain, a, a, category, category]
        total = cur.execute(f"SELECT count(*) FROM tags {where}", params).fetchone()[0]
        res = cur.execute(f"SELECT chain, address, label, category, actor, source, confidence, added_by, added_at, "
                          f"note FROM tags {where} ORDER BY added_at DESC, address LIMIT ? OFFSET ?", [*params, *pg])
        cols = [d[0] for d in res.description]
        return paged([dict(zip(cols, r, strict=True)) for r in res.fetchall()], total, pg)

    @api.post("/tags", tags=["tags"], status_code=201, summary="Add a tag (needs a token)")
    def add_tag(body: schemas.TagRequest, who: Writer, cur: Cur) -> Any:
        from chainsleuth.labels.tagstore import add_tag as _add

        with write_lock:
            rec = _add(cur, body.address, body.label, chain=body.chain, category=body.category, actor=body.actor,
                       source=f"api:{who}", confidence=body.confidence, note=body.note, added_by=who)
        return rec

    @api.post("/notes", tags=["tags"], status_code=201, summary="Add a note on an address (needs a token)")
    def add_note(body: schemas.NoteRequest, who: Writer, cur: Cur) -> Any:
        with write_lock:
            return casework.add_note(cur, body.chain, body.address, body.note, added_by=who, case_id=body.case_id)

    # -- tracing, incidents, cases, attribution -----------------------------------------------------------
    @api.post("/trace", tags=["trace"], summary="Trace funds from source addresses (TraceResult JSON)")
    def trace(body: schemas.TraceRequest, cur: Cur) -> Any:
        try:
            from chainsleuth.trace import trace as _trace
        except ImportError:
            raise HTTPException(503, "tracing is not installed (chainsleuth.trace)") from None
        return _trace(cur, body.sources, body.chain, after=body.after, model=body.model, direction=body.direction,
                      max_hops=body.max_hops, min_value=body.min_value, demix=body.demix).to_dict()

    @api.get("/incidents", tags=["incidents"], summary="Detected incidents, largest loss first")
    def incidents(cur: Cur, pg: Page, chain: ChainQ = None) -> Any:
        from chainsleuth.detect.incidents import list_incidents

        found = list_incidents(cur, chain=chain)
        items = [_incident_row(i.to_dict()) for i in found[pg[1]:pg[1] + pg[0]]]
        return paged(items, len(found), pg)

    @api.get("/incidents/{incident_id}", tags=["incidents"], summary="An incident with victims, attackers, "
             "evidence and its drain-wave timeline")
    def incident(cur: Cur, incident_id: str) -> Any:
        from chainsleuth.detect.incidents import get_incident

        d = get_incident(cur, incident_id).to_dict()
        d["timeline"] = _timeline(d)
        return d

    @api.get("/incidents/{incident_id}/attribution", tags=["incidents"], summary="Attribution with evidence")
    def attribution(cur: Cur, incident_id: str) -> Any:
        from chainsleuth.report.subject import attribution_of

        res = attribution_of(cur, incident_id, {})
        if res is None:
            raise HTTPException(404, f"no attribution for {incident_id} (chainsleuth.attribute found none)")
        return res

    @api.get("/cases", tags=["incidents"], summary="Declared cases")
    def cases(cur: Cur, pg: Page) -> Any:
        from chainsleuth.detect.cases import list_cases

        found = list_cases(cur)
        return paged([c.to_dict() for c in found[pg[1]:pg[1] + pg[0]]], len(found), pg)

    @api.get("/cases/{name}", tags=["incidents"], summary="A declared case and its source addresses")
    def case(cur: Cur, name: str) -> Any:
        from chainsleuth.detect.cases import get_case

        return get_case(cur, name).to_dict()

    # -- screening ----------------------------------------------------------------------------------------
    @api.get("/screen/{chain}/{address}", tags=["screening"], summary="Screen one address")
    def screen_one(cur: Cur, chain: str, address: str, hops: Annotated[int, Query(ge=1, le=10)] = 3,
                   as_of: datetime | None = None) -> Any:
        return screening.screen(cur, [address], chain, hops=hops, as_of=as_of)[0].to_dict()

    @api.post("/screen", tags=["screening"], summary="Screen up to 1000 addresses in one pass")
    def screen_many(body: schemas.ScreenRequest, cur: Cur) -> Any:
        res = screening.screen(cur, body.addresses, body.chain, hops=body.hops, as_of=body.as_of, basis=body.basis)
        return {"items": [r.to_dict() for r in res], "total": len(res)}

    # -- watch-lists --------------------------------------------------------------------------------------
    @api.get("/watch", tags=["watch"], summary="The watch-list")
    def watchlist(cur: Cur, pg: Page, chain: ChainQ = None) -> Any:
        rows, total = watch.entries(cur, chain, limit=pg[0], offset=pg[1])
        return paged(rows, total, pg)

    @api.post("/watch", tags=["watch"], status_code=201, summary="Watch addresses (needs a token)")
    def watch_add(body: schemas.WatchRequest, who: Writer, cur: Cur) -> Any:
        with write_lock:
            return watch.add(cur, body.addresses, body.chain, label=body.label, case_id=body.case_id,
                             added_by=who, from_block=body.from_block)

    @api.delete("/watch/{chain}/{address}", tags=["watch"], summary="Stop watching (needs a token)")
    def watch_remove(chain: str, address: str, who: Writer, cur: Cur) -> Any:
        with write_lock:
            watch.remove(cur, address, chain)
        return {"removed": address, "chain": chain, "by": who}

    @api.get("/watch/alerts", tags=["watch"], summary="Alerts raised by `watch run`, newest first")
    def alerts(cur: Cur, pg: Page, chain: ChainQ = None,
               severity: Annotated[str | None, Query(pattern="^(critical|high|medium)$")] = None) -> Any:
        rows, total = watch.list_alerts(cur, chain=chain, severity=severity, limit=pg[0], offset=pg[1])
        return paged(rows, total, pg)

    # -- reports ------------------------------------------------------------------------------------------
    @api.post("/reports", tags=["reports"], status_code=201, summary="Write the report of an incident or case")
    def make_report(body: schemas.ReportRequest, who: Writer, cur: Cur) -> Any:
        from chainsleuth.report import resolve, write_report

        content = resolve(cur, body.subject, trace_options={"model": body.model, "max_hops": body.max_hops},
                          title=body.title)
        report_id = f"{body.subject}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}"
        written = write_report(content, reports / report_id)
        return {"report_id": report_id, "files": written["files"], "summary": content["summary"],
                "html": f"/api/v1/reports/{report_id}/files/report.html", "by": who}

    @api.get("/reports", tags=["reports"], summary="Reports written on this server")
    def list_reports(pg: Page) -> Any:
        found = sorted((p.name for p in reports.iterdir() if p.is_dir() and (p / "report.json").is_file()),
                       reverse=True) if reports.is_dir() else []
        items = [{"report_id": r, "html": f"/api/v1/reports/{r}/files/report.html"} for r in found]
        return paged(items[pg[1]:pg[1] + pg[0]], len(items), pg)

    @api.get("/reports/{report_id}/files/{name:path}", tags=["reports"], summary="Download a report file",
             response_class=FileResponse)
    def report_file(report_id: str, name: str) -> Any:
        if not _REPORT_ID.fullmatch(report_id):
            raise HTTPException(400, "invalid report id")
        base = (reports / report_id).resolve()
        target = (base / name).resolve()
        if base.parent != reports or not target.is_relative_to(base) or ".." in Path(name).parts:
            raise HTTPException(400, "invalid file path")
        if not target.is_file():
            raise HTTPException(404, f"no file {name} in report {report_id}")
        return FileResponse(target)

    # -- saved views (case graphs from the UI) ------------------------------------------------------------
    @api.get("/views", tags=["cases"], summary="Saved graph views")
    def views(cur: Cur, pg: Page) -> Any:
        rows, total = casework.list_views(cur, limit=pg[0], offset=pg[1])
        return paged(rows, total, pg)

    @api.post("/views", tags=["cases"], status_code=201, summary="Save a graph view as a case (needs a token)")
    def save_view(body: schemas.ViewRequest, who: Writer, cur: Cur) -> Any:
        with write_lock:
            return casework.save_view(cur, body.name, body.payload, created_by=who, case_id=body.case_id)

    @api.get("/views/{view_id}", tags=["cases"], summary="A saved graph view")
    def view(cur: Cur, view_id: int) -> Any:
        return casework.get_view(cur, view_id)

    @api.get("/auth/check", tags=["info"], summary="Check a token (200 with its name)")
    def auth_check(who: Writer) -> Any:
        return {"name": who}

    app.include_router(api)

    if WEB_DIR.is_dir():
        app.mount("/ui", StaticFiles(directory=WEB_DIR, html=True), name="ui")

        @app.get("/", include_in_schema=False)
        def root() -> Any:
            return RedirectResponse("/ui/")

    app.add_middleware(RateLimit, per_minute=rate_limit)
    app.add_middleware(BodyLimit, max_bytes=max_body)
    return app


def _incident_row(d: dict[str, Any]) -> dict[str, Any]:
    return {k: d[k] for k in ("id", "kind", "chain", "window", "loss_usd", "losses", "victim_count", "consolidated", "stale")} | {
        "attackers": [a["address"] for a in d["attackers"]]}


def _timeline(d: dict[str, Any]) -> list[dict[str, Any]]:
    """The drain wave: one point per victim drain (first drain time, USD, tx hashes), in time order."""
    points = [{"time": v["first_drain"], "address": v["address"], "usd": v.get("usd"),
               "tx_hashes": [h for a in v["assets"] for h in a["tx_hashes"]]} for v in d["victims"]]
    return sorted(points, key=lambda p: str(p["time"]))


def _search(cur: duckdb.DuckDBPyConnection, q: str) -> dict[str, Any]:
    if q.upper().startswith("INC-"):
        n = cur.execute("SELECT incident_id FROM incidents WHERE upper(incident_id) = upper(?)", [q]).fetchone()
        if n:
            return {"kind": "incident", "id": n[0]}
    if cur.execute("SELECT count(*) FROM cases WHERE name = ?", [q]).fetchone()[0]:
        return {"kind": "case", "id": q}
    hexq = q.lower()
    if re.fullmatch(r"(0x)?[0-9a-f]{64}", hexq):
        for h in {hexq if hexq.startswith("0x") else "0x" + hexq, hexq.removeprefix("0x")}:
            rows = cur.execute("SELECT DISTINCT chain FROM transactions WHERE hash = ? UNION "
                               "SELECT DISTINCT chain FROM transfers WHERE tx_hash = ?", [h, h]).fetchall()
            if rows:
                return {"kind": "tx", "tx_hash": h, "chains": sorted(r[0] for r in rows)}
        raise NotFoundError(f"no transaction {q} in the database")
    a = hexq if re.fullmatch(r"0x[0-9a-f]{40}", hexq) else q
    if not re.fullmatch(r"[A-Za-z0-9]{20,100}", a):
        raise InputError("search", None, f"{q!r} is not an incident id, case, transaction hash or address")
    rows = cur.execute(
        "SELECT DISTINCT chain FROM transfers WHERE from_address = $a OR to_address = $a UNION "
        "SELECT DISTINCT chain FROM utxo_outputs WHERE address = $a UNION "
        "SELECT DISTINCT chain FROM tags WHERE address = $a AND chain IS NOT NULL", {"a": a}).fetchall()
    if not rows:
        raise NotFoundError(f"address {q} has no transfers or tags in the database")
    return {"kind": "address", "address": a, "chains": sorted(r[0] for r in rows)}


__all__ = ["AddressError", "create_app"]
