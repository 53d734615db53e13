"""What the desk sees while it registers a report: classes, units, likely duplicates and repeats.

It suggests; people decide. Classes come from the active model with the words that drove them; units
from the dispatch rules at the report's place for each suggested class (what dispatch would do), else
from the units that actually handled that class in the history. Duplicates are the recent open events
the caller may see, ranked by text similarity × distance × time (``domain/hotline.py``). Repeats are
cases closed within the repeat window at the same place (same class) or from the same caller.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Event, EventClass, Unit
from shuzhi.adapters.geo import gcj02_to_wgs84
from shuzhi.domain import hotline as rules
from shuzhi.domain.permissions import EVENT_SUBMIT
from shuzhi.services.actors import Actor
from shuzhi.services.commands import ZonedDatetime
from shuzhi.services.errors import Conflict, Invalid
from shuzhi.services.geo_index import grid_index
from shuzhi.services.hotline.models import Loaded, active_model, event_text
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork

#: Events in these states are no longer a place to merge a new report into.
_CLOSED_FOR_MERGE = ("merged", "cancelled", "closed", "called_back")
#: At most this many recent events are compared with a new report.
MAX_CANDIDATES = 400


class SuggestRequest(BaseModel):
    """A report being registered: its words, and where and who when known."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=2, max_length=4000)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    coord_system: str = Field(default="wgs84", pattern="^(wgs84|gcj02)$")
    area_code: str | None = Field(default=None, max_length=15)
    reporter_phone: str | None = Field(default=None, max_length=30)
    #: an event already registered (its own number is then not a duplicate of itself)
    exclude: str | None = Field(default=None, max_length=40)
    received_at: ZonedDatetime | None = None
    limit: int = Field(default=5, ge=1, le=20)

    @field_validator("text")
    @classmethod
    def _words(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text is empty")
        return v



@dataclass(frozen=True)
class ClassSuggestion:
    code: str
    name: str
    score: float
    words: list[str]


@dataclass(frozen=True)
class UnitSuggestion:
    code: str
    name: str
    score: float
    via: str  # rules | history


@dataclass(frozen=True)
class Duplicate:
    number: str
    title: str
    state: str
    class_code: str | None
    received_at: datetime
    score: float
    text_score: float
    place: float | None
    distance_m: float | None
    age_hours: float


@dataclass(frozen=True)
class Repeat:
    number: str
    title: str
    class_code: str | None
    closed_at: datetime | None
    reasons: list[str]


@dataclass
class Suggestion:
    model_version: int | None
    classes: list[ClassSuggestion] = field(default_factory=list)
    units: list[UnitSuggestion] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    repeats: list[Repeat] = field(default_factory=list)
    area_code: str | None = None


# ---- per-process memo of candidate events' features (they do not change once registered) ----------

@dataclass
class _Features:
    vector: Any  # the TF-IDF row (sparse)
    probs: dict[str, float]  # the likely classes
    dense: Any  # every class's probability, in the model's label order


_memo_lock = threading.Lock()
_memo: OrderedDict[tuple[int, int], _Features] = OrderedDict()
_MEMO_SIZE = 50_000


_stack_memo: OrderedDict[tuple[int, tuple[int, ...]], tuple[Any, Any, Any]] = OrderedDict()


def _stacked(loaded: Loaded, ids: list[int], feats: dict[int, _Features]) -> tuple[Any, Any, Any]:
    """The candidates' TF-IDF rows, their norms and their class probabilities as matrices; the same
    desk asks again at every pause in typing with the same candidates, so the last few are kept."""
    key = (loaded.id, tuple(ids))
    with _memo_lock:
        hit = _stack_memo.get(key)
    if hit is not None:
        return hit
    stacked, norms, dense = stack_rows([feats[i].vector for i in ids], [feats[i].dense for i in ids])
    with _memo_lock:
        _stack_memo[key] = (stacked, norms, dense)
        while len(_stack_memo) > 16:
            _stack_memo.popitem(last=False)
    return stacked, norms, dense


def stack_rows(rows: list[Any], dense_rows: list[Any]) -> tuple[Any, Any, Any]:
    """One CSR matrix from single-row CSR matrices, built from their arrays directly (``sparse.vstack``
    of hundreds of one-row matrices costs tens of milliseconds in its per-block checks), with each
    row's Euclidean norm and the stacked class probabilities."""
    from scipy import sparse  # on first use, not at API start-up (see adapters/text_model.py)

    data = np.concatenate([r.data for r in rows])
    indices = np.concatenate([r.indices for r in rows])
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([r.nnz for r in rows], out=indptr[1:])
    stacked = sparse.csr_matrix((data, indices, indptr), shape=(len(rows), rows[0].shape[1]))
    norms = np.sqrt(np.bincount(np.repeat(np.arange(len(rows)), np.diff(indptr)), weights=data * data,
                                minlength=len(rows)))
    return stacked, norms, np.vstack(dense_rows)


def _features(loaded: Loaded, items: list[tuple[int, str]]) -> dict[int, _Features]:
    out: dict[int, _Features] = {}
    missing = []
    with _memo_lock:
        for event_id, text in items:
            hit = _memo.get((loaded.id, event_id))
            if hit is None:
                missing.append((event_id, text))
            else:
                out[event_id] = hit
    if missing:
        texts = [t for _, t in missing]
        vectors = loaded.model.features(texts)
        probs = loaded.model.probabilities(texts)
        labels = loaded.model.labels
        with _memo_lock:
            for i, (event_id, _) in enumerate(missing):
                f = _Features(vectors[i], {labels[j]: float(p) for j, p in enumerate(probs[i]) if p > 0.005}, probs[i])
                _memo[(loaded.id, event_id)] = f
                out[event_id] = f
            while len(_memo) > _MEMO_SIZE:
                _memo.popitem(last=False)
    return out


# ---- the use case ---------------------------------------------------------------------------------

def _place(s: Session, req: SuggestRequest) -> tuple[float | None, float | None, Area | None]:
    lon, lat = req.lon, req.lat
    if (lon is None) != (lat is None):
        raise Invalid("give both lon and lat, or neither", field="lat" if lat is None else "lon")
    if lon is not None and lat is not None and req.coord_system == "gcj02":
        lon, lat = gcj02_to_wgs84(lon, lat)
    if lon is not None and lat is not None:
        code = grid_index(s).locate(lon, lat)
        if code is not None:
            return lon, lat, s.scalar(select(Area).where(Area.code == code))
    if req.area_code:
        area = s.scalar(select(Area).where(Area.code == req.area_code))
        if area is None:
            raise Invalid(f"unknown area '{req.area_code}'", field="area_code")
        return lon, lat, area
    return lon, lat, None


def _units(s: Session, loaded: Loaded, classes: list[tuple[str, float]], area: Area | None) -> list[UnitSuggestion]:
    # imported here: dispatching imports the services this package uses
    from shuzhi.domain.conditions import EventFacts
    from shuzhi.domain.rules import decide
    from shuzhi.services.dispatching.deciding import decision_inputs

    # no place known: the district's rules (the root of the area tree)
    where = area or s.scalar(select(Area).where(Area.parent_id.is_(None)).order_by(Area.id).limit(1))
    units_of: dict[str, dict[str, float]] = {}
    via: dict[str, str] = {}
    names = dict(s.execute(select(EventClass.code, EventClass.major_code).where(
        EventClass.code.in_([c for c, _ in classes]))).all())
    compiled, directory = decision_inputs(s)
    if where is not None:
        directory.preload_holders([c for c, _ in classes if c in names], where.path)
    for code, _ in classes:
        decision = None
        if where is not None and code in names:
            decision = decide(compiled, EventFacts(event_class=code, major_class=names[code], source="hotline",
                                                   area_path=where.path, area_level=where.level,
                                                   received_at=datetime.now(UTC)), directory)
        if decision is not None and decision.lead is not None:
            units_of[code] = {decision.lead.code: 1.0}
            via[decision.lead.code] = "rules"
        else:
            units_of[code] = {u: float(n) for u, n in loaded.model.unit_counts.get(code, {}).items()}
            for u in units_of[code]:
                via.setdefault(u, "history")
    ranked = rules.units_from_classes(classes, units_of, k=3)
    unit_names = dict(s.execute(select(Unit.code, Unit.name).where(Unit.code.in_([u for u, _ in ranked]))).all())
    return [UnitSuggestion(u, unit_names.get(u, u), round(p, 4), via.get(u, "history")) for u, p in ranked]


def _duplicates(s: Session, loaded: Loaded, req: SuggestRequest, actor: Actor, at: datetime,
                lon: float | None, lat: float | None, area: Area | None, new_vec: Any,
                probs: dict[str, float], top_codes: list[str]) -> list[Duplicate]:
    q = (select(Event.id, Event.number, Event.title, Event.description, Event.state, EventClass.code,
                Event.received_at, Event.lon, Event.lat)
         .outerjoin(EventClass, EventClass.id == Event.event_class_id)
         .where(Event.received_at >= at - rules.DUPLICATE_WINDOW, Event.state.not_in(_CLOSED_FOR_MERGE),
                authz.event_clause(actor)))
    if req.exclude:
        q = q.where(Event.number != req.exclude)
    if area is not None:
        # the same town: a duplicate is at the same place, and a town is wider than MAX_DISTANCE_M
        town_path = "/".join(area.path.split("/")[:4]) + "/"
        q = q.where(Event.area_path.like(f"{town_path}%"))
    if top_codes:
        # the same problem: one of the classes the model finds likely (or no class yet)
        q = q.where((EventClass.code.in_(top_codes)) | (Event.event_class_id.is_(None)))
    rows = s.execute(q.order_by(Event.received_at.desc()).limit(MAX_CANDIDATES)).all()
    if not rows:
        return []
    feats = _features(loaded, [(r[0], event_text(r[2], r[3])) for r in rows])
    stacked, row_norms, dense = _stacked(loaded, [r[0] for r in rows], feats)
    norms = row_norms * (float(np.sqrt(new_vec.multiply(new_vec).sum())) or 1.0)
    norms[norms == 0] = 1.0
    lexical = np.clip((stacked @ new_vec.T).toarray().ravel() / norms, 0.0, 1.0)
    mine = np.asarray([probs.get(label, 0.0) for label in loaded.model.labels])
    overlap = np.minimum(dense, mine).sum(axis=1)
    # what the texts say bounds the score from above (place and time only lower it): skip the rest
    said = 0.55 * overlap + 0.45 * lexical
    out = []
    for i in np.nonzero(said >= rules.DUPLICATE_THRESHOLD)[0]:
        r = rows[int(i)]
        distance = (rules.distance_m(lon, lat, r[7], r[8])
                    if lon is not None and lat is not None and r[7] is not None and r[8] is not None else None)
        if distance is not None and distance > rules.MAX_DISTANCE_M:
            continue
        text = event_text(r[2], r[3])
        d = rules.desk_duplicate_score(float(lexical[i]), float(overlap[i]),
                                       rules.place_similarity(req.text, text), distance, at - r[6])
        if d.score >= rules.DUPLICATE_THRESHOLD:
            out.append(Duplicate(r[1], r[2], r[4], r[5], r[6], d.score, d.text, d.place, d.distance_m, d.age_hours))
    out.sort(key=lambda d: -d.score)
    return out[:req.limit]


def _repeats(s: Session, req: SuggestRequest, actor: Actor, at: datetime, lon: float | None, lat: float | None,
             top_class: str | None) -> list[Repeat]:
    if not req.reporter_phone and (lon is None or lat is None):
        return []
    since = at - timedelta(days=rules.REPEAT_WINDOW_DAYS)
    q = (select(Event.id, Event.number, Event.title, EventClass.code, Event.closed_at, Event.lon, Event.lat,
                Event.reporter_phone)
         .outerjoin(EventClass, EventClass.id == Event.event_class_id)
         .where(Event.closed_at.is_not(None), Event.closed_at >= since, authz.event_clause(actor)))
    near_or_same_caller = []
    if lon is not None and lat is not None:
        # about ±0.002° (≈ 200 m) around the point, then the exact distance in the rule
        near_or_same_caller.append(and_(Event.lon.between(lon - 0.002, lon + 0.002),
                                        Event.lat.between(lat - 0.002, lat + 0.002)))
    if req.reporter_phone:
        near_or_same_caller.append(Event.reporter_phone == req.reporter_phone)
    q = q.where(or_(*near_or_same_caller))
    seen: set[int] = set()
    out = []
    for r in s.execute(q.limit(200)).all():
        if r[0] in seen:
            continue
        seen.add(r[0])
        reasons = rules.repeat_reasons(top_class, lon, lat, req.reporter_phone, at,
                                       rules.PastCase(r[0], r[1], r[3], r[4], r[5], r[6], r[7]))
        if reasons:
            out.append(Repeat(r[1], r[2], r[3], r[4], reasons))
    return sorted(out, key=lambda x: x.closed_at or at, reverse=True)[:req.limit]


def suggest(uow: UnitOfWork, req: SuggestRequest, actor: Actor, *, now: datetime | None = None) -> Suggestion:
    """Classes (top 3 with confidence and the words that drove them), units, duplicates, repeats."""
    authz.require(actor, EVENT_SUBMIT)
    at = req.received_at or now or datetime.now(UTC)
    with uow:
        s = uow.session
        lon, lat, area = _place(s, req)
        loaded = active_model(s, uow.database)
        if loaded is None:
            raise Conflict("no model is active yet: train one (shuzhi model train)", field="model")
        model = loaded.model
        probs_row, row, explained = model.explain(req.text, k=3)
        labels = model.labels
        top = [(labels[j], float(probs_row[j])) for j in np.argsort(-probs_row)[:5]]
        names = dict(s.execute(select(EventClass.code, EventClass.name).where(
            EventClass.code.in_([sc.code for sc, _ in explained]))).all())
        classes = [ClassSuggestion(sc.code, names.get(sc.code, sc.code), round(sc.score, 4), words)
                   for sc, words in explained]
        probs = {labels[j]: float(p) for j, p in enumerate(probs_row) if p > 0.005}
        top_codes = [c for c, p in top if p >= 0.02] or [top[0][0]]
        return Suggestion(
            model_version=loaded.version, classes=classes, units=_units(s, loaded, top, area),
            duplicates=_duplicates(s, loaded, req, actor, at, lon, lat, area, row, probs, top_codes),
            repeats=_repeats(s, req, actor, at, lon, lat, top[0][0]),
            area_code=area.code if area is not None else None)
