"""Tables of the plans part of shuzhi: templates (versioned), runs, their steps, review notes.

They share ``Base`` from :mod:`shuzhi.adapters.db.tables`, so migrations and the test schema see them.
A run's tasks are ordinary rows of ``tasks`` on the run's event; a step links one resolved task of
the template (one unit's share) to its task once dispatched, or holds it while it waits for its
predecessors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.adapters.db.tables import Base, BigId, UTCDateTime, utcnow


class PlanTemplateRow(Base):
    """A contingency plan template (预案); ``document`` is the JSON of :mod:`shuzhi.domain.plans`."""

    __tablename__ = "plan_templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    trigger_kind: Mapped[str] = mapped_column(String(12), index=True)  # manual|warning|event_class
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The area the template belongs to: it starts only for events and warnings inside it, and is
    #: written only by people whose scope covers it (``None``: installation-wide).
    area_path: Mapped[str | None] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlanTemplateVersion(Base):
    """Every saved state of a template, append-only, so a run can always show the version it ran."""

    __tablename__ = "plan_template_versions"
    __table_args__ = (UniqueConstraint("template_code", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    template_code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_by: Mapped[str] = mapped_column(String(60))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlanRun(Base):
    """One activation of a template, under an event (null only while a proposal awaits the duty officer)."""

    __tablename__ = "plan_runs"
    __table_args__ = (Index("ix_plan_runs_state_started", "state", "started_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("plan_templates.id"), index=True)
    template_code: Mapped[str] = mapped_column(String(40))
    template_version: Mapped[int] = mapped_column(Integer)
    #: proposed | active | stood_down | dismissed
    state: Mapped[str] = mapped_column(String(12))
    #: One run per trigger episode (``warning:<episode>:<template>``, ``event:<id>:<template>``…).
    trigger_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    trigger_kind: Mapped[str] = mapped_column(String(12))  # manual|event|warning|event_class
    warning_id: Mapped[int | None] = mapped_column(BigInteger)
    warning_level: Mapped[str | None] = mapped_column(String(10))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    #: Area codes the roles were resolved for.
    affected_areas: Mapped[list[str]] = mapped_column(JSON)
    #: Roles that found no unit, shown on the board (``[{"task": key, "area": code, "message": …}]``).
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by: Mapped[str | None] = mapped_column(String(60))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class PlanRunStep(Base):
    """One unit's share of one template task in a run; ``task_id`` once dispatched."""

    __tablename__ = "plan_run_steps"
    __table_args__ = (Index("ix_plan_run_steps_run_state", "run_id", "state"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("plan_runs.id", ondelete="CASCADE"))
    task_key: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(60))
    part: Mapped[str] = mapped_column(String(10))
    sort_order: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    #: The unit's own area path: dependencies hold along one branch of the tree.
    unit_path: Mapped[str] = mapped_column(String(100))
    #: The affected area this share was resolved for.
    area_code: Mapped[str | None] = mapped_column(String(15))
    after: Mapped[list[str]] = mapped_column(JSON, default=list)
    instruction: Mapped[str] = mapped_column(Text)
    checklist: Mapped[list[str]] = mapped_column(JSON, default=list)
    deadline: Mapped[str] = mapped_column(String(20))
    accept_within: Mapped[str | None] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(12))  # waiting | dispatched | cancelled
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Tasks this share had before it was re-dispatched (returned or escalated ones), for the review.
    former_task_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: Why a waiting share was cancelled (its predecessor was cancelled, the run stood down).
    end_reason: Mapped[str | None] = mapped_column(Text)


class PlanRunTrigger(Base):
    """Every trigger a run answers: the one that started it and those attached to it later.

    ``trigger_key`` is unique: one trigger episode (a warning's episode, an event, an idempotency key)
    belongs to one run, however often it fires.
    """

    __tablename__ = "plan_run_triggers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("plan_runs.id", ondelete="CASCADE"), index=True)
    trigger_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # manual|event|warning|event_class
    #: started | attached
    role: Mapped[str] = mapped_column(String(10))
    warning_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    warning_level: Mapped[str | None] = mapped_column(String(10))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Areas this trigger added to the run, and the tasks added for them.
    new_areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    added_tasks: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewNote(Base):
    """The lessons-learned notes of a review (复盘), editable, one per event or plan run."""

    __tablename__ = "review_notes"
    __table_args__ = (UniqueConstraint("subject_kind", "subject_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(10))  # event | run
    subject_id: Mapped[int] = mapped_column(BigInteger)
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
