"""Model versions: train from the installation's own history, list, activate, roll back, load the active one.

Training examples are the centre's decided events: each event whose class a person has confirmed by
acting on it (dispatched, notified, self-handled, closed … — not one still waiting at registration, not a
cancelled one), labelled with its *final* class, and the unit that actually led its handling. A
dispatcher's correction (a reclassification) is an example too, weighed :data:`CORRECTION_WEIGHT` times,
so that the model follows the centre's decisions quickly. A share of the examples is held out to
measure the version's accuracy before it is stored; the stored model is then fitted on all of them.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Event, EventClass, Task, TimelineEntry, Unit, UnitDuty
from shuzhi.adapters.db.tables_hotline import ModelVersion
from shuzhi.adapters.text_model import FORMAT, TextModel, counts_by_label, sha256_of
from shuzhi.domain import hotline as rules
from shuzhi.domain.permissions import MODEL_ADMIN
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid, NotFound
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork

log = logging.getLogger("shuzhi.hotline")
KIND = "hotline"
#: A reclassified event teaches the model this many times as much as a plain one.
CORRECTION_WEIGHT = 3.0
#: Fewer examples than this cannot make a useful model.
MIN_EXAMPLES = 20
HOLDOUT_SHARE = 0.15
_UNDECIDED = ("registered", "cancelled")


@dataclass(frozen=True)
class Example:
    text: str
    class_code: str
    unit_code: str | None
    received_at: datetime | None  # None for a starter example (not from this installation's history)
    corrected: bool


@dataclass(frozen=True)
class VersionView:
    id: int
    version: int
    created_at: datetime
    trained_by: str
    data_cutoff: datetime | None
    examples: int
    corrections: int
    classes: int
    metrics: dict[str, Any]
    size: int
    active: bool
    activated_at: datetime | None
    note: str | None


def _view(v: ModelVersion) -> VersionView:
    return VersionView(v.id, v.version, v.created_at, v.trained_by, v.data_cutoff, v.examples, v.corrections,
                       v.classes, dict(v.metrics or {}), v.size, v.active, v.activated_at, v.note)


def event_text(title: str | None, description: str | None) -> str:
    """What the model reads of an event: what was said (the description), else the title."""
    return (description or "").strip() or (title or "").strip()


def history_examples(s: Session, cutoff: datetime | None = None) -> list[Example]:
    """The decided events up to ``cutoff`` (received time), with their final class and lead unit."""
    q = (select(Event.id, Event.title, Event.description, EventClass.code, Event.received_at)
         .join(EventClass, EventClass.id == Event.event_class_id)
         .where(Event.state.not_in(_UNDECIDED)))
    if cutoff is not None:
        q = q.where(Event.received_at <= cutoff)
    rows = s.execute(q.order_by(Event.id)).all()
    leads: dict[int, str] = {}
    # the lead unit that handled it last: returned/withdrawn (cancelled) tasks did not handle it
    for event_id, unit_code in s.execute(
            select(Task.event_id, Unit.code).join(Unit, Unit.id == Task.unit_id)
            .where(Task.role == "lead", Task.state.not_in(("returned", "cancelled")))
            .order_by(Task.event_id, Task.dispatched_at)):
        leads[event_id] = unit_code
    corrected = set(s.scalars(select(TimelineEntry.event_id).where(TimelineEntry.action == "event.reclassify")))
    out = []
    for event_id, title, description, code, received_at in rows:
        text = event_text(title, description)
        if text:
            out.append(Example(text, code, leads.get(event_id), received_at, event_id in corrected))
    return out


def _split(examples: list[Example], seed: int = 21) -> tuple[list[Example], list[Example]]:
    """Hold out a share of every class that has at least 4 examples (so each class is still learnt)."""
    rng = random.Random(seed)
    by_class: dict[str, list[Example]] = {}
    for e in examples:
        by_class.setdefault(e.class_code, []).append(e)
    train, held = [], []
    for rows in by_class.values():
        rows = rows[:]
        rng.shuffle(rows)
        k = max(1, int(len(rows) * HOLDOUT_SHARE)) if len(rows) >= 4 else 0
        held.extend(rows[:k])
        train.extend(rows[k:])
    return train, held


def _fit(examples: list[Example]) -> TextModel:
    model = TextModel.train([e.text for e in examples], [e.class_code for e in examples],
                            [CORRECTION_WEIGHT if e.corrected else 1.0 for e in examples])
    model.unit_counts = counts_by_label((e.class_code, e.unit_code) for e in examples if e.unit_code)
    return model


def measure(model: TextModel, held: list[Example]) -> dict[str, Any]:
    """Held-out accuracy of ``model``: class top-1/top-3 and the first suggested unit."""
    if not held:
        return {"n": 0}
    ranked = model.top_many([e.text for e in held], k=5)
    acc = rules.accuracy([e.class_code for e in held], [[s.code for s in r] for r in ranked])
    with_unit = [(e, r) for e, r in zip(held, ranked, strict=True) if e.unit_code]
    unit_right = 0
    for e, r in with_unit:
        units = rules.units_from_classes([(s.code, s.score) for s in r], model.unit_counts, k=1)
        unit_right += bool(units) and units[0][0] == e.unit_code
    return {"n": acc.n, "top1": round(acc.top1, 4), "top3": round(acc.top3, 4),
            "unit_top1": round(unit_right / len(with_unit), 4) if with_unit else None}


def train(uow: UnitOfWork, actor: Actor, *, cutoff: datetime | None = None, activate: bool = True,
          extra: list[Example] | None = None, note: str | None = None, now: datetime | None = None) -> VersionView:
    """Train a new version from the history up to ``cutoff`` (default: everything), measure it on
    held-out examples, store it and (by default) make it the active version. ``extra`` examples (a
    starter set for a new installation) are added to the history's."""
    authz.require(actor, MODEL_ADMIN)
    at = now or datetime.now(UTC)
    with uow:
        examples = history_examples(uow.session, cutoff) + list(extra or [])
    if len(examples) < MIN_EXAMPLES:
        raise Invalid(f"only {len(examples)} decided events with a class to learn from; at least "
                      f"{MIN_EXAMPLES} are needed", field="history")
    if len({e.class_code for e in examples}) < 2:
        raise Invalid("the history has a single class: nothing to tell apart", field="history")
    started = time.perf_counter()
    train_part, held = _split(examples)
    metrics: dict[str, Any] = measure(_fit(train_part), held) if held else {"n": 0}
    model = _fit(examples)
    metrics["train_seconds"] = round(time.perf_counter() - started, 1)
    model.meta = {"trained_at": at.isoformat(), "examples": len(examples)}
    blob = model.to_bytes()
    last = max((e.received_at for e in examples if e.received_at is not None), default=None)
    with uow:
        s = uow.session
        version = (s.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.kind == KIND)) or 0) + 1
        row = ModelVersion(kind=KIND, version=version, format=FORMAT, created_at=at, trained_by=actor.label,
                           data_cutoff=cutoff or last, examples=len(examples),
                           corrections=sum(e.corrected for e in examples), classes=len(model.labels),
                           metrics=metrics, size=len(blob), sha256=sha256_of(blob), blob=blob, active=False,
                           note=note)
        s.add(row)
        s.flush()
        if activate:
            _activate(s, row, actor, at)
        audit.record(s, actor, "model.train", f"model:{version}", {"examples": len(examples), **metrics})
        uow.commit()
        return _view(row)


def _activate(s: Session, row: ModelVersion, actor: Actor, at: datetime) -> None:
    s.execute(update(ModelVersion).where(ModelVersion.kind == KIND, ModelVersion.id != row.id)
              .values(active=False))
    row.active = True
    row.activated_at = at
    row.activated_by = actor.label


def list_versions(uow: UnitOfWork, actor: Actor) -> list[VersionView]:
    authz.require(actor, MODEL_ADMIN)
    with uow:
        return [_view(v) for v in uow.session.scalars(
            select(ModelVersion).where(ModelVersion.kind == KIND).order_by(ModelVersion.version.desc()))]


def activate(uow: UnitOfWork, version: int, actor: Actor, *, now: datetime | None = None) -> VersionView:
    """Make ``version`` the one the desk and automation use (also how a rollback is done)."""
    authz.require(actor, MODEL_ADMIN)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        row = s.scalar(select(ModelVersion).where(ModelVersion.kind == KIND, ModelVersion.version == version))
        if row is None:
            raise NotFound(f"model version {version} not found", field="version")
        if row.format != FORMAT:
            raise Conflict(f"model version {version} is of format {row.format}, this release reads {FORMAT}",
                           field="version")
        _activate(s, row, actor, at)
        audit.record(s, actor, "model.activate", f"model:{version}", {})
        uow.commit()
        return _view(row)


def rollback(uow: UnitOfWork, actor: Actor, *, now: datetime | None = None) -> VersionView:
    """Go back to the version that was active before the current one (the newest older version)."""
    authz.require(actor, MODEL_ADMIN)
    with uow:
        s = uow.session
        current = s.scalar(select(ModelVersion).where(ModelVersion.kind == KIND, ModelVersion.active.is_(True)))
        if current is None:
            raise Conflict("no model version is active", field="version")
        previous = s.scalar(select(ModelVersion.version).where(
            ModelVersion.kind == KIND, ModelVersion.version < current.version, ModelVersion.format == FORMAT)
            .order_by(ModelVersion.version.desc()).limit(1))
    if previous is None:
        raise Conflict(f"version {current.version} is the oldest: nothing to roll back to", field="version")
    return activate(uow, previous, actor, now=now)


# ---- the active model, loaded once per process ---------------------------------------------------

@dataclass(frozen=True)
class Loaded:
    id: int
    version: int
    model: TextModel


_lock = threading.Lock()
_loaded: dict[str, Loaded] = {}


@dataclass(frozen=True)
class ModelUnderTest:
    """A stored version and what measuring it needs: the class codes known here and each class's units."""

    version: int
    model: TextModel
    known_classes: list[str]
    units_of: dict[str, dict[str, float]]


def model_for_evaluation(uow: UnitOfWork, actor: Actor, version: int | None = None) -> ModelUnderTest:
    """Version ``version`` (default: the active one), to measure on a person's own labelled texts."""
    authz.require(actor, MODEL_ADMIN)
    with uow:
        s = uow.session
        q = select(ModelVersion.version, ModelVersion.blob, ModelVersion.sha256).where(ModelVersion.kind == KIND)
        q = q.where(ModelVersion.version == version) if version is not None else q.where(ModelVersion.active.is_(True))
        row = s.execute(q).first()
        if row is None:
            raise NotFound(f"version {version} not found" if version else "no active model", field="version")
        known = list(s.scalars(select(EventClass.code)))
        units_of: dict[str, dict[str, float]] = {}
        for code, unit in s.execute(select(EventClass.code, Unit.code).join(UnitDuty, UnitDuty.event_class_id ==
                                    EventClass.id).join(Unit, Unit.id == UnitDuty.unit_id)):
            units_of.setdefault(code, {})[unit] = 1.0
    return ModelUnderTest(row[0], TextModel.from_bytes(row[1], row[2]), known, units_of)


def active_model(s: Session, database: str = "") -> Loaded | None:
    """The active version's model, loaded from its blob once per process and database; a new
    activation (in any process) is seen at the next call, which costs one indexed look-up."""
    row = s.execute(select(ModelVersion.id, ModelVersion.version, ModelVersion.sha256).where(
        ModelVersion.kind == KIND, ModelVersion.active.is_(True))).first()
    if row is None:
        return None
    key = database or str(s.get_bind().engine.url)
    cached = _loaded.get(key)
    if cached is not None and cached.id == row[0]:
        return cached
    with _lock:
        cached = _loaded.get(key)
        if cached is not None and cached.id == row[0]:
            return cached
        blob = s.scalar(select(ModelVersion.blob).where(ModelVersion.id == row[0]))
        assert blob is not None
        loaded = Loaded(row[0], row[1], TextModel.from_bytes(blob, row[2]))
        _loaded[key] = loaded
        return loaded


def forget_loaded() -> None:
    """Drop the per-process models (tests)."""
    _loaded.clear()


def retrain_job(uow: UnitOfWork, now: datetime) -> VersionView | None:
    """The worker's scheduled retraining: a new version when the history has grown since the active
    one's cut-off. It is activated only when it measures at least as well as the active version (a
    bad week of data must not silently replace a good model); otherwise it is kept for a person to judge."""
    from shuzhi.services.actors import SYSTEM

    with uow:
        s = uow.session
        current = s.scalar(select(ModelVersion).where(ModelVersion.kind == KIND, ModelVersion.active.is_(True)))
        newer = s.scalar(select(func.count(Event.id)).where(
            Event.state.not_in(_UNDECIDED), Event.event_class_id.is_not(None),
            *([Event.received_at > current.data_cutoff] if current is not None and current.data_cutoff else [])))
        corrections = s.scalar(select(func.count(TimelineEntry.id)).where(
            TimelineEntry.action == "event.reclassify",
            *([TimelineEntry.at > current.created_at] if current is not None else [])))
        old_top1 = (current.metrics or {}).get("top1") if current is not None else None
    if current is not None and not newer and not corrections:
        return None
    try:
        made = train(uow, SYSTEM, activate=False, note="scheduled retraining", now=now)
    except Invalid as exc:
        log.info("scheduled retraining skipped: %s", exc.message)
        return None
    if old_top1 is None or (made.metrics.get("top1") or 0.0) >= old_top1 - 0.005:
        return activate(uow, made.version, SYSTEM, now=now)
    log.warning("model version %s measured %.3f < active %.3f: kept inactive", made.version,
                made.metrics.get("top1") or 0.0, old_top1)
    return made
