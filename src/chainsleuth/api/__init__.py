"""The REST API and web UI server (FastAPI + uvicorn)."""

from chainsleuth.api.app import create_app
from chainsleuth.api.server import serve

__all__ = ["create_app", "serve"]
