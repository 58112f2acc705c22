"""``chainsleuth serve`` (REST API + web UI) and ``chainsleuth api token create|list|revoke``."""

from __future__ import annotations

from typing import Annotated

import typer

from chainsleuth import store
from chainsleuth.api.tokens import create_token, list_tokens, revoke_token
from chainsleuth.cli.common import DbOpt, Format, FormatOpt, handle_errors, out, print_json, table

api_app = typer.Typer(help="REST API administration.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (needed for writes, and for reads with --auth-reads).",
                        no_args_is_help=True)
api_app.add_typer(token_app, name="token")


@token_app.command("create")
@handle_errors
def token_create(name: Annotated[str, typer.Argument(help="Who or what uses the token.")], db: DbOpt = None) -> None:
    """Create (or replace) the token NAME and print it once: only its hash is stored."""
    token = create_token(store.connect(db), name)
    print(token)


@token_app.command("list")
@handle_errors
def token_list(db: DbOpt = None, format: FormatOpt = Format.text) -> None:
    """Token names and use (JSON: list of {name, created_at, last_used_at, revoked})."""
    rows = list_tokens(store.connect(db))
    if format == Format.json:
        print_json(rows)
    else:
        out.print(table("API tokens", ["name", "created", "revoked"],
                        [[r["name"], r["created_at"], r["revoked"]] for r in rows]))


@token_app.command("revoke")
@handle_errors
def token_revoke(name: Annotated[str, typer.Argument()], db: DbOpt = None) -> None:
    """Revoke the token NAME."""
    revoke_token(store.connect(db), name)
    out.print(f"revoked {name}")


def register(app: typer.Typer) -> None:
    app.add_typer(api_app, name="api")

    @app.command()
    @handle_errors
    def serve(
        host: Annotated[str, typer.Option(help="Interface to bind (default loopback only).")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
        auth_reads: Annotated[bool, typer.Option("--auth-reads", help="Require a token for reads too.")] = False,
        rate_limit: Annotated[int, typer.Option(help="Requests per minute per client (0 = off).")] = 600,
        max_body: Annotated[int, typer.Option(help="Largest request body in bytes.")] = 1_000_000,
        reports_dir: Annotated[str | None, typer.Option(help="Where POST /reports writes (default: beside db).")]
        = None,
        token_create: Annotated[str | None, typer.Option("--token-create", help="Create token NAME, print, exit.")]
        = None,
        db: DbOpt = None,
    ) -> None:
        """Serve the REST API (/api/v1, OpenAPI at /api/docs) and the web UI (/ui/)."""
        if token_create:
            print(create_token(store.connect(db), token_create))
            return
        from chainsleuth.api.server import serve as run_server

        path = db or store.default_path()
        out.print(f"chainsleuth API on http://{host}:{port}/api/v1 (docs /api/docs), web UI http://{host}:{port}/ui/")
        run_server(path, host=host, port=port, auth_reads=auth_reads, rate_limit=rate_limit, max_body=max_body,
                   reports_dir=reports_dir)
