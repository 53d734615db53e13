"""Tables of the public-service part (一窗综办, 一件事一次办, 好差评, 企业吹哨).

A service case is an event of the loop (source ``service``) with its departments' work as ordinary
tasks, so the departments see it in the same inbox, on the same clocks, with the same reminders and
escalation; ``service_cases`` holds what only a case has (applicant, proxy, window, form, materials,
stages, promised date) and names its event one-to-one. See docs/services.md for why.

* ``service_matters`` / ``service_bundles`` — the catalogue, each row a checked guide or bundle document.
* ``service_windows`` — windows of the district hall and the town and village service points.
* ``service_cases`` / ``service_case_shares`` / ``service_case_materials`` — a case, its department
  shares (one per department and stage, waiting until their stage starts), its checked materials.
* ``service_visits`` — a window visit that is not a case (a consultation), ratable on its own.
* ``service_ratings`` — one per case or visit, never changed (an ORM guard refuses updates).
* ``service_verifications`` — the verification of a 差评; ``service_timeline`` — append-only
  history of ratings, verifications, visits and enterprise calls (a case's history is its event's
  timeline).
* ``service_enterprises`` / ``service_whistles`` — 企业吹哨·部门报到 with the enterprise's officer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.adapters.db.tables import Base, BigId, Timestamps, UTCDateTime, utcnow

BigRef = BigId


class ServiceMatter(Timestamps, Base):
    __tablename__ = "service_matters"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    promised_days: Mapped[int] = mapped_column(Integer)
    statutory_days: Mapped[int] = mapped_column(Integer)
    #: places joined by ',' (district_hall,town,village,online): filtered with LIKE on both engines
    places: Mapped[str] = mapped_column(String(60))
    #: lower-cased name, keywords, code and department name: what the window's search looks in
    search_text: Mapped[str] = mapped_column(Text)
    guide: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ServiceBundle(Timestamps, Base):
    __tablename__ = "service_bundles"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    search_text: Mapped[str] = mapped_column(Text)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ServiceWindow(Timestamps, Base):
    """A window of the district hall, or a town / village service point (便民服务中心/站)."""

    __tablename__ = "service_windows"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # district_hall|town|village
    #: the unit whose people staff it (a centre, a town centre, a village)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    area_path: Mapped[str] = mapped_column(String(100), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ServiceCase(Base):
    __tablename__ = "service_cases"
    __table_args__ = (Index("ix_service_cases_window_accepted", "window_id", "accepted_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), unique=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # matter|bundle
    matter_code: Mapped[str | None] = mapped_column(String(40), index=True)
    bundle_code: Mapped[str | None] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(String(200))
    window_id: Mapped[int] = mapped_column(ForeignKey("service_windows.id"))
    clerk_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    clerk: Mapped[str] = mapped_column(String(60))
    area_path: Mapped[str] = mapped_column(String(100), index=True)
    #: window (窗口受理), nearest (就近办 at a town/village point), proxy (帮代办), dedicated (专员办)
    mode: Mapped[str] = mapped_column(String(12))
    applicant_kind: Mapped[str] = mapped_column(String(12))  # person|enterprise
    applicant_name: Mapped[str] = mapped_column(String(100))
    applicant_id_number: Mapped[str | None] = mapped_column(String(30))
    applicant_phone: Mapped[str | None] = mapped_column(String(30))
    #: 帮代办: who applied on the applicant's behalf {name, id_number, phone, relation}
    proxy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    form: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    skipped: Mapped[list[str]] = mapped_column(JSON, default=list)
    stages: Mapped[int] = mapped_column(Integer, default=1)
    current_stage: Mapped[int] = mapped_column(Integer, default=1)
    promised_days: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), index=True)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    promised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    collect_at: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[str | None] = mapped_column(Text)
    #: SHA-256 of the case number and the check code printed on the receipt (never the code itself): what
    #: lets the applicant rate the case without signing in (docs/services.md, self-service rating)
    check_digest: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class ServiceCaseShare(Base):
    """One department's part of a case in one stage; ``task_id`` once its stage has started."""

    __tablename__ = "service_case_shares"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("service_cases.id", ondelete="CASCADE"), index=True)
    stage: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    matter_codes: Mapped[list[str]] = mapped_column(JSON)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    promised_days: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), unique=True)
    state: Mapped[str] = mapped_column(String(12))  # waiting|dispatched|done|cancelled


class ServiceCaseMaterial(Base):
    __tablename__ = "service_case_materials"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("service_cases.id", ondelete="CASCADE"), index=True)
    matter_code: Mapped[str] = mapped_column(String(40))
    material_code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(14))  # provided|deferred|supplied|not_provided
    #: a deferred (容缺) material: by when it must follow
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    supplied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attachment_id: Mapped[int | None] = mapped_column(BigRef)


class ServiceVisit(Base):
    __tablename__ = "service_visits"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("service_windows.id"), index=True)
    clerk_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    clerk: Mapped[str] = mapped_column(String(60))
    area_path: Mapped[str] = mapped_column(String(100))
    matter_code: Mapped[str | None] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ServiceRating(Base):
    """One rating of a case or a visit (好差评). Immutable: see the guard below."""

    __tablename__ = "service_ratings"
    __table_args__ = (Index("ix_service_ratings_rated", "rated_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("service_cases.id"), unique=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("service_visits.id"), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    level: Mapped[str] = mapped_column(String(20))
    grade: Mapped[str] = mapped_column(String(8), index=True)
    levels: Mapped[dict[str, Any]] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text, default="")
    named: Mapped[bool] = mapped_column(Boolean)
    rater_name: Mapped[str | None] = mapped_column(String(100))
    rater_phone: Mapped[str | None] = mapped_column(String(30))
    window_id: Mapped[int] = mapped_column(ForeignKey("service_windows.id"), index=True)
    clerk_person_id: Mapped[int | None] = mapped_column(Integer)
    area_path: Mapped[str] = mapped_column(String(100), index=True)
    #: the matter rated (a bundle's case: the bundle code, for the public page)
    subject_code: Mapped[str | None] = mapped_column(String(40), index=True)
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime)


@event.listens_for(ServiceRating, "before_update")
def _ratings_are_immutable(_mapper: Any, _conn: Any, target: ServiceRating) -> None:
    raise ValueError(f"rating {target.id} is immutable (国办发〔2019〕51号: 评价结果不得修改)")


class ServiceVerification(Base):
    """The verification and rectification of one 差评 (差评核实整改): of a service rating (``rating_id``), or
    of an enterprise's rating of its call's handling (``whistle_rating_id``, 政企双向评价; migration 0037)."""

    __tablename__ = "service_verifications"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rating_id: Mapped[int | None] = mapped_column(ForeignKey("service_ratings.id"), unique=True)
    whistle_rating_id: Mapped[int | None] = mapped_column(ForeignKey("service_whistle_ratings.id"), unique=True)
    #: the unit that answers for it: the department of the case's task, or the window's unit
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    area_path: Mapped[str] = mapped_column(String(100), index=True)
    named: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(14), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    limit_days: Mapped[int] = mapped_column(Integer)
    callback_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    called_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    callback_note: Mapped[str | None] = mapped_column(Text)
    classification: Mapped[str | None] = mapped_column(String(10))
    appeal: Mapped[str | None] = mapped_column(Text)
    appeal_decision: Mapped[str | None] = mapped_column(String(10))  # upheld|rejected
    rectification: Mapped[str | None] = mapped_column(Text)
    rectified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(Text)
    rater_satisfied: Mapped[bool | None] = mapped_column(Boolean)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class ServiceTimeline(Base):
    """Append-only history of ratings, verifications, visits and settings (no foreign keys, like
    ``timeline_entries``)."""

    __tablename__ = "service_timeline"
    __table_args__ = (Index("ix_service_timeline_subject", "subject", "subject_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject: Mapped[str] = mapped_column(String(14))
    subject_id: Mapped[int] = mapped_column(BigRef)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ServiceSettings(Base):
    """The installation's 好差评 limits (one row, id 1)."""

    __tablename__ = "service_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    bad_rating_limit_days: Mapped[int] = mapped_column(Integer)
    callback_limit_days: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceEnterprise(Timestamps, Base):
    __tablename__ = "service_enterprises"
    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    name: Mapped[str] = mapped_column(String(200))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    #: 服务企业专员: the officer who follows every call of this enterprise
    officer_person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)


class ServiceWhistle(Base):
    """企业吹哨·部门报到: an enterprise's call, an event of the loop with a task per department."""

    __tablename__ = "service_whistles"
    __table_args__ = (UniqueConstraint("event_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("service_enterprises.id"), index=True)
    officer_person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    response_days: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ServiceWhistleRating(Base):
    """政企双向评价 of one enterprise call: the enterprise's rating of the handling (``rater_key``
    ``enterprise``) or one department's rating of the enterprise's cooperation (``unit:<id>``). One per
    rater and call (the unique key), never changed (the guard below)."""

    __tablename__ = "service_whistle_ratings"
    __table_args__ = (UniqueConstraint("whistle_id", "rater_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    whistle_id: Mapped[int] = mapped_column(ForeignKey("service_whistles.id"), index=True)
    direction: Mapped[str] = mapped_column(String(12))  # enterprise|department
    rater_key: Mapped[str] = mapped_column(String(30))
    #: the department that rates (direction department); None for the enterprise's rating
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("service_enterprises.id"), index=True)
    area_path: Mapped[str] = mapped_column(String(100), index=True)
    level: Mapped[str] = mapped_column(String(20))
    grade: Mapped[str] = mapped_column(String(8))
    levels: Mapped[dict[str, Any]] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text, default="")
    #: who recorded it (the officer for the enterprise's rating, the department's handler for its own)
    recorded_by: Mapped[str] = mapped_column(String(60))
    recorded_by_person_id: Mapped[int | None] = mapped_column(Integer)
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


@event.listens_for(ServiceWhistleRating, "before_update")
def _whistle_ratings_are_immutable(_mapper: Any, _conn: Any, target: ServiceWhistleRating) -> None:
    raise ValueError(f"two-way rating {target.id} is immutable (评价结果不得修改)")
