"""Pydantic models of the API: what each endpoint accepts and returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
RowId = Annotated[int, Path(ge=1, le=2**62, description="numeric id")]


class Borrower(BaseModel):
    id: str
    name: str
    industry: str | None = None
    region: str | None = None
    officer: str | None = None


class Loan(BaseModel):
    id: str
    borrower_id: str
    amount: float | None = None
    currency: str | None = None
    product: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    status: str


class Asset(BaseModel):
    id: str
    borrower_id: str
    class_: str = Field(alias="class")
    name: str
    identity: dict[str, Any]
    declared: dict[str, Any]
    stationary: bool

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class Terminal(BaseModel):
    device_id: str
    protocol: str
    jt808_phone: str | None = None
    mmsi: str | None = None
    dev_eui: str | None = None
    aemp_serial: str | None = None
    expected_interval_s: int
    satellite: bool
    device_profile: str | None = None


class Binding(BaseModel):
    id: int
    device_id: str
    asset_id: str
    valid_from: datetime
    valid_to: datetime | None = None
    by_user: str
    reason: str


class Pledge(BaseModel):
    id: int
    asset_id: str
    loan_id: str
    valid_from: datetime
    valid_to: datetime | None = None
    by_user: str
    reason: str


class ZoneProperties(BaseModel):
    asset_id: str
    kind: Literal["pledged", "base", "region"]
    name: str = ""
    buffer_m: float = Field(default=0, ge=0, le=1_000_000)


class ZoneFeature(BaseModel):
    """A zone as a GeoJSON Feature (``id`` is the zone id)."""

    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any]
    properties: ZoneProperties


class ZoneCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[ZoneFeature]


class ZoneIn(BaseModel):
    """A zone to create or replace: a GeoJSON Feature with Polygon/MultiPolygon geometry."""

    type: Literal["Feature"] = "Feature"
    id: Id
    geometry: dict[str, Any]
    properties: ZoneProperties


class BorrowerIn(BaseModel):
    id: Id
    name: Annotated[str, Field(min_length=1, max_length=200)]
    industry: Annotated[str, Field(max_length=100)] | None = None
    region: Annotated[str, Field(max_length=100)] | None = None
    officer: Annotated[str, Field(max_length=100)] | None = None


class LoanIn(BaseModel):
    id: Id
    borrower_id: Id
    amount: Annotated[float, Field(ge=0, le=1e15)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "CNY"
    product: Annotated[str, Field(min_length=1, max_length=100)]
    start: date
    end: date
    status: Literal["pending", "active", "closed", "defaulted", "written_off"] = "active"


class AssetIn(BaseModel):
    id: Id
    borrower_id: Id
    class_: Literal["vehicle", "ship", "farm", "equipment"] = Field(alias="class")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    identity: dict[str, Any] = Field(default_factory=dict)
    declared: dict[str, Any] = Field(default_factory=dict)
    stationary: bool = False

    model_config = ConfigDict(populate_by_name=True)


class TerminalIn(BaseModel):
    device_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    protocol: Literal["json", "jt808", "ais", "lorawan", "aemp"]
    jt808_phone: Annotated[str, Field(pattern=r"^[0-9]{12}$")] | None = None
    mmsi: Annotated[str, Field(pattern=r"^[0-9]{9}$")] | None = None
    dev_eui: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")] | None = None
    aemp_serial: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    expected_interval_s: Annotated[int, Field(gt=0, le=10_000_000)] = 60
    satellite: bool = False
    device_profile: Annotated[str, Field(max_length=100)] | None = None


class BindingIn(BaseModel):
    device_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    asset_id: Id
    valid_from: datetime | None = None
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class PledgeIn(BaseModel):
    asset_id: Id
    loan_id: Id
    valid_from: datetime | None = None
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class UnbindIn(BaseModel):
    """Ends a terminal's open binding; the row is kept as history."""

    device_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    valid_to: datetime | None = None


class ReleaseIn(BaseModel):
    """Ends an asset's open pledge to a loan; the row is kept as history."""

    asset_id: Id
    loan_id: Id
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    valid_to: datetime | None = None


class AcknowledgeIn(BaseModel):
    note: Annotated[str, Field(max_length=2000)] | None = None
    assignee: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class AssignIn(BaseModel):
    assignee: Annotated[str, Field(min_length=1, max_length=100)]


class ResolveIn(BaseModel):
    outcome: Literal["confirmed", "false_alarm", "explained"]
    note: Annotated[str, Field(min_length=1, max_length=2000)]
    assignee: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class KeyIn(BaseModel):
    role: Literal["admin", "post_loan", "credit", "provisioner"]
    name: Annotated[str, Field(min_length=1, max_length=200)]


class KeyOut(BaseModel):
    key_id: str
    role: str
    name: str
    created_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class NewKeyOut(BaseModel):
    """The created key; ``token`` is shown this once and never stored."""

    key_id: str
    role: str
    name: str
    token: str


class WebhookIn(BaseModel):
    url: Annotated[str, Field(min_length=8, max_length=2000, pattern=r"^https?://")]
    secret: Annotated[str, Field(min_length=16, max_length=200)]
    from_start: bool = False


class WebhookOut(BaseModel):
    id: int
    url: str
    active: bool
    last_event_id: int
    created_at: datetime


class DeliveryOut(BaseModel):
    id: int
    webhook_id: int
    event_id: int
    attempt: int
    attempted_at: datetime
    status_code: int | None
    ok: bool
    error: str | None


class Me(BaseModel):
    key_id: str
    role: str
    name: str
