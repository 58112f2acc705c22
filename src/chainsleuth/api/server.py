"""Running the API server: uvicorn on 127.0.0.1 by default (exposing forensic data to a network is a choice
the operator makes explicitly with ``--host``)."""

from __future__ import annotations

from pathlib import Path

import uvicorn

from chainsleuth.api.app import create_app


def serve(
    db: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    auth_reads: bool = False,
    rate_limit: int = 600,
    max_body: int = 1_000_000,
    reports_dir: str | Path | None = None,
    log_level: str = "info",
) -> None:
    app = create_app(db, auth_reads=auth_reads, rate_limit=rate_limit, max_body=max_body, reports_dir=reports_dir)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
