"""Commands: the validated input of each use case (also the API's request bodies).

pydantic checks shape and ranges here, so that every rejected field is named in a 422 before a
service touches the database.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from shuzhi.domain.events import TaskRole
from shuzhi.domain.time_limits import Urgency
from shuzhi.services.errors import Invalid

#: How a moment without its time zone is refused (the same words for a body field and a query parameter).
ZONE_NEEDED = "give a time zone (e.g. 2024-06-13T08:00:00+08:00)"


def _zoned(v: datetime) -> datetime:
    if v.tzinfo is None:
        raise ValueError(ZONE_NEEDED)
    return v


#: A moment that names its time zone: a naive one would silently be read in the server's zone.
ZonedDatetime = Annotated[datetime, AfterValidator(_zoned)]


def ensure_zoned(**moments: datetime | None) -> None:
    """Refuse (422, naming the parameter) a query's moment given without a time zone."""
    for name, value in moments.items():
        if value is not None and value.tzinfo is None:
            raise Invalid(ZONE_NEEDED, field=name)


class Source(StrEnum):
    """Where an event came from (domain brief §3)."""

    HOTLINE = "hotline"  # 12345 热线
    CITIZEN_PLATFORM = "citizen_platform"  # 民呼我为
    GRID_PATROL = "grid_patrol"  # 网格员巡查
    SENSOR_WARNING = "sensor_warning"  # 感知预警
    ONLINE_APP = "online_app"  # 渝快办等
    LEGACY_SYSTEM = "legacy_system"  # 接入的存量系统
    DUTY_OFFICER = "duty_officer"  # 值班员录入
    UPPER_CENTRE = "upper_centre"  # 上级中心交办


class RequestType(StrEnum):
    CONSULT = "consult"  # 咨询
    COMPLAIN = "complain"  # 投诉
    HELP = "help"  # 求助
    SUGGEST = "suggest"  # 建议
    REPORT = "report"  # 报告（巡查、感知）


class CoordSystem(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"


_PHONE = re.compile(r"^\+?[0-9][0-9\- ]{4,19}$")
Text200 = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SubmitEvent(_Command):
    """A report from any source, as received (受理)."""

    source: Source
    request_type: RequestType | None = None
    event_class_code: str | None = Field(default=None, max_length=20)
    title: Text200
    description: str = Field(default="", max_length=10_000)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    coord_system: CoordSystem = CoordSystem.WGS84
    address: str | None = Field(default=None, max_length=300)
    area_code: str | None = Field(default=None, max_length=15, description="when no point is known")
    centre_code: str | None = Field(default=None, max_length=40, description="the receiving centre")
    reporter_name: str | None = Field(default=None, max_length=50)
    reporter_phone: str | None = Field(default=None, max_length=30)
    reporter_id_number: str | None = Field(default=None, max_length=30)
    urgency: Urgency | None = None
    external_ref: str | None = Field(default=None, max_length=100)
    received_at: ZonedDatetime | None = Field(default=None, description="when the source received it (UTC)")

    @field_validator("lon", "lat")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @field_validator("reporter_phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v and not _PHONE.match(v):
            raise ValueError("not a phone number")
        return v


    @model_validator(mode="after")
    def _point_pair(self) -> SubmitEvent:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("lon and lat go together")
        return self


class UnitAssignment(_Command):
    unit_code: str = Field(min_length=1, max_length=40)
    role: TaskRole = TaskRole.LEAD
    instruction: str | None = Field(default=None, max_length=2000)


class Dispatch(_Command):
    """Send the event to units (横向分拨 to departments, 纵向交办 to lower centres)."""

    units: list[UnitAssignment] = Field(min_length=1, max_length=50)
    reason: str | None = Field(default=None, max_length=2000)
    expected_version: int | None = None
    #: The dispatcher's own handling deadline for these units (the desk's 办理时限); none: the class's.
    due_at: ZonedDatetime | None = None

    @field_validator("units")
    @classmethod
    def _distinct(cls, v: list[UnitAssignment]) -> list[UnitAssignment]:
        codes = [u.unit_code for u in v]
        if len(set(codes)) != len(codes):
            raise ValueError("a unit is named twice")
        if any(u.role is TaskRole.NOTIFY for u in v):
            raise ValueError("use the notify action for units that only need to know")
        return v



class Notify(_Command):
    """Copy for information (抄送知悉) to the named units and to every unit on the named copy lists."""

    unit_codes: list[str] = Field(default_factory=list, max_length=5000)
    copy_lists: list[int] = Field(default_factory=list, max_length=50)
    reason: str | None = Field(default=None, max_length=2000)
    expected_version: int | None = None

    @model_validator(mode="after")
    def _some_units(self) -> Notify:
        if not self.unit_codes and not self.copy_lists:
            raise ValueError("name at least one unit (unit_codes) or copy list (copy_lists)")
        return self


class WithReason(_Command):
    reason: Reason
    expected_version: int | None = None


class OptionalReason(_Command):
    reason: str | None = Field(default=None, max_length=2000)
    expected_version: int | None = None


class ReportBack(_Command):
    result: str = Field(min_length=1, max_length=5000, description="what was done (处置结果)")
    expected_version: int | None = None


class RequestExtension(_Command):
    until: ZonedDatetime
    reason: Reason
    expected_version: int | None = None



class DecideExtension(_Command):
    approve: bool
    reason: str | None = Field(default=None, max_length=2000)
    #: an approval may grant a different date than the one asked for (default: the one asked for)
    until: ZonedDatetime | None = None
    expected_version: int | None = None


    @model_validator(mode="after")
    def _until_on_approval(self) -> DecideExtension:
        if self.until is not None and not self.approve:
            raise ValueError("a date goes with an approval only")
        return self


class Verify(_Command):
    passed: bool
    reason: str | None = Field(default=None, max_length=2000)
    expected_version: int | None = None

    @model_validator(mode="after")
    def _reason_on_fail(self) -> Verify:
        if not self.passed and not self.reason:
            raise ValueError("a failed verification needs a reason for the rework")
        return self


class Callback(_Command):
    satisfied: bool
    comment: str | None = Field(default=None, max_length=2000)
    expected_version: int | None = None


class Merge(_Command):
    master_number: str = Field(min_length=1, max_length=40)
    reason: str | None = Field(default=None, max_length=2000)
    expected_version: int | None = None


class Reclassify(_Command):
    event_class_code: str = Field(min_length=1, max_length=20)
    urgency: Urgency | None = None
    reason: Reason
    expected_version: int | None = None


class SelfHandle(_Command):
    result: str = Field(min_length=1, max_length=5000)
    expected_version: int | None = None
