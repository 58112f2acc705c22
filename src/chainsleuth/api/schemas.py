"""Request bodies of the REST API (validated by pydantic; a violation is a 422 naming the field)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Chain = Field(default="ethereum", pattern=r"^[a-z][a-z0-9_]{0,31}$", description="Chain name, e.g. ethereum.")
Address = Field(min_length=1, max_length=128, description="Address as written on its chain.")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TraceRequest(_Strict):
    sources: list[str] = Field(min_length=1, max_length=1000, description="Addresses the funds start from.")
    chain: str = Chain
    after: datetime | None = Field(default=None, description="Only transfers after this time (UTC).")
    model: Literal["poison", "haircut", "fifo"] = "haircut"
    direction: Literal["forward", "backward"] = "forward"
    max_hops: int = Field(default=12, ge=1, le=50)
    min_value: float = Field(default=0.0, ge=0.0,
                             description="Drop taint worth less than this in USD (whole tokens where unpriced).")
    demix: bool = False


class ScreenRequest(_Strict):
    addresses: list[str] = Field(min_length=1, max_length=1000)
    chain: str = Chain
    hops: int = Field(default=3, ge=1, le=10)
    as_of: datetime | None = None
    basis: Literal["auto", "usd", "native"] = "auto"


class TagRequest(_Strict):
    address: str = Address
    chain: str = Chain
    label: str = Field(min_length=1, max_length=200)
    category: str | None = Field(default=None, max_length=40)
    actor: str | None = Field(default=None, max_length=100)
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    note: str | None = Field(default=None, max_length=2000)


class NoteRequest(_Strict):
    address: str = Address
    chain: str = Chain
    note: str = Field(min_length=1, max_length=5000)
    case_id: str | None = Field(default=None, max_length=100)


class WatchRequest(_Strict):
    addresses: list[str] = Field(min_length=1, max_length=1000)
    chain: str = Chain
    label: str | None = Field(default=None, max_length=200)
    case_id: str | None = Field(default=None, max_length=100)
    from_block: int | None = Field(default=None, ge=0, le=2**62)


class ReportRequest(_Strict):
    subject: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                         description="Incident id (INC-...) or case name.")
    title: str | None = Field(default=None, max_length=200)
    model: Literal["poison", "haircut", "fifo"] = "haircut"
    max_hops: int = Field(default=12, ge=1, le=50)


class ViewRequest(_Strict):
    name: str = Field(min_length=1, max_length=200)
    case_id: str | None = Field(default=None, max_length=100)
    payload: dict[str, Any] = Field(description="Nodes, edges, positions and trace parameters of the view.")
