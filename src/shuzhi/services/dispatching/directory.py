"""The units a dispatch decision can pick (:class:`shuzhi.domain.rules.UnitDirectory`), from the database.

* :class:`SqlDirectory` asks the unit tables, memoised for one decision: three to five joins over the
  units, the areas they cover and their duties.
* :class:`CompiledDirectory` holds the whole organisation in memory, indexed by area code, and answers
  without a query. A process keeps one per database and reuses it while the database's
  ``organisation`` change stamp (``adapters/db/change_stamps.py``) is the one it was built under; any
  committed change to areas, units, coverage, duties or classes replaces the stamp, and the next
  decision builds it again. Issue #16's goal — a decision's p99 ≤ 2 ms over 62,000 grids — is out of
  reach with the joins (about 1.5 ms each on PostgreSQL) and in reach with one row read.

Both answer the same questions with the same rows; ``tests/integration/test_unit_directory.py`` holds
them equal over a generated district, and shows that a committed change is seen by the next decision.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, ChangeStamp, EventClass, Unit, UnitCoverage, UnitDuty
from shuzhi.domain.dispatch import Candidate
from shuzhi.services.areas_lookup import ancestors
from shuzhi.services.ttl_cache import TTLCache

_UnitRows = Select[int, str, str, str, str]  # unit id, code, kind, level, an area's path


def _unit_columns() -> _UnitRows:
    return select(Unit.id, Unit.code, Unit.kind, Unit.level, Area.path)


def _covered() -> _UnitRows:
    """Active units with each area they cover (one row per coverage)."""
    return (_unit_columns().join(UnitCoverage, UnitCoverage.unit_id == Unit.id)
            .join(Area, Area.id == UnitCoverage.area_id).where(Unit.active.is_(True)))


def _sitting() -> _UnitRows:
    """Active units with the area they sit in."""
    return _unit_columns().join(Area, Area.id == Unit.area_id).where(Unit.active.is_(True))


def _candidate(r: Any) -> Candidate:
    return Candidate(r[0], r[1], r[2], r[3], r[4])


class SqlDirectory:
    """The unit tables, asked per question and memoised for one decision."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self._units: dict[str, Candidate | None] = {}
        self._holders: dict[tuple[str, str], list[Candidate]] = {}
        self._covering: dict[str, list[Candidate]] = {}

    def unit(self, code: str) -> Candidate | None:
        if code not in self._units:
            row = self.s.execute(_sitting().where(Unit.code == code)).first()
            self._units[code] = _candidate(row) if row is not None else None
        return self._units[code]

    def duty_holders(self, event_class: str, area_path: str) -> Sequence[Candidate]:
        key = (event_class, area_path)
        if key not in self._holders:
            rows = self.s.execute(
                _covered().join(UnitDuty, UnitDuty.unit_id == Unit.id)
                .join(EventClass, EventClass.id == UnitDuty.event_class_id)
                .where(EventClass.code == event_class, Area.code.in_(ancestors(area_path)))).all()
            self._holders[key] = [_candidate(r) for r in rows]
        return self._holders[key]

    def preload_holders(self, event_classes: Sequence[str], area_path: str) -> None:
        """Fetch the duty holders of several classes at one place in one query (the desk asks the
        rules about the model's top classes at once; one round trip instead of one per class)."""
        wanted = [c for c in dict.fromkeys(event_classes) if (c, area_path) not in self._holders]
        if not wanted:
            return
        found: dict[str, list[Candidate]] = {c: [] for c in wanted}
        rows = self.s.execute(
            _covered().add_columns(EventClass.code).join(UnitDuty, UnitDuty.unit_id == Unit.id)
            .join(EventClass, EventClass.id == UnitDuty.event_class_id)
            .where(EventClass.code.in_(wanted), Area.code.in_(ancestors(area_path)))).all()
        for unit_id, unit_code, kind, level, path, code in rows:
            found[code].append(Candidate(unit_id, unit_code, kind, level, path))
        for code, holders in found.items():
            self._holders[(code, area_path)] = holders

    def covering(self, area_path: str) -> Sequence[Candidate]:
        if area_path not in self._covering:
            codes = ancestors(area_path)
            found = {_candidate(r) for q in (_covered(), _sitting())
                     for r in self.s.execute(q.where(Area.code.in_(codes))).all()}
            self._covering[area_path] = sorted(found, key=lambda c: (c.coverage_path, c.code))
        return self._covering[area_path]


@dataclass(frozen=True)
class _Rows:
    """One candidate row and the code of the area it is about (the index key)."""

    area_code: str
    candidate: Candidate


class CompiledDirectory:
    """The whole organisation in memory: the same answers as :class:`SqlDirectory`, no query.

    Indexed by area code, as the SQL matches ``Area.code IN (the place's ancestors)``: a question walks
    the five or six codes of the place's path, never all units. A unit's duties are one integer, a bit
    per event class: a city has 1.3 million duty rows (every grid team holds the grassroots classes),
    which as Python objects would take minutes to load and hundreds of megabytes to hold; as one
    aggregated row and one integer per unit they take seconds and a few megabytes."""

    def __init__(self, covered: Sequence[_Rows], sitting: Sequence[_Rows], duties: dict[int, int],
                 class_bits: dict[str, int]) -> None:
        self._by_code: dict[str, Candidate] = {}
        self._covered: dict[str, list[Candidate]] = {}
        self._sitting: dict[str, list[Candidate]] = {}
        self._duties = duties
        self._class_bits = class_bits
        for r in sitting:
            self._by_code[r.candidate.code] = r.candidate
            self._sitting.setdefault(r.area_code, []).append(r.candidate)
        for r in covered:
            self._covered.setdefault(r.area_code, []).append(r.candidate)

    @classmethod
    def load(cls, s: Session) -> CompiledDirectory:
        intern = sys.intern  # kinds, levels and paths repeat across 60,000 rows: one copy of each
        conn = s.connection()  # plain rows: the ORM's row handling would double the build time

        def rows(q: _UnitRows) -> list[_Rows]:
            return [_Rows(intern(code), Candidate(uid, ucode, intern(kind), intern(level), intern(path)))
                    for uid, ucode, kind, level, path, code in conn.execute(q.add_columns(Area.code))]

        bit_of = {class_id: n for n, class_id in enumerate(conn.execute(select(EventClass.id)
                                                                         .order_by(EventClass.id)).scalars())}
        class_bits = {code: 1 << bit_of[class_id]
                      for class_id, code in conn.execute(select(EventClass.id, EventClass.code))}
        # one row per unit with its classes, aggregated by the database (not one row per duty)
        if conn.dialect.name == "postgresql":
            listed: Any = func.array_agg(UnitDuty.event_class_id)
        else:
            listed = func.group_concat(UnitDuty.event_class_id)
        duties: dict[int, int] = {}
        for unit_id, ids in conn.execute(select(UnitDuty.unit_id, listed).group_by(UnitDuty.unit_id)):
            mask = 0
            for class_id in (ids if isinstance(ids, list) else str(ids).split(",")):
                mask |= 1 << bit_of[int(class_id)]
            duties[unit_id] = mask
        return cls(rows(_covered()), rows(_sitting()), duties, class_bits)

    def unit(self, code: str) -> Candidate | None:
        return self._by_code.get(code)

    def duty_holders(self, event_class: str, area_path: str) -> Sequence[Candidate]:
        bit = self._class_bits.get(event_class, 0)
        if not bit:
            return []
        duties = self._duties
        return [c for code in ancestors(area_path) for c in self._covered.get(code, ())
                if duties.get(c.unit_id, 0) & bit]

    def preload_holders(self, event_classes: Sequence[str], area_path: str) -> None:
        """Nothing to fetch: everything is here (kept so callers need not know which directory they hold)."""

    def covering(self, area_path: str) -> Sequence[Candidate]:
        found = {c for code in ancestors(area_path)
                 for c in (*self._covered.get(code, ()), *self._sitting.get(code, ()))}
        return sorted(found, key=lambda c: (c.coverage_path, c.code))


# --- the stamps and the process's directory ------------------------------------------------------


def stamps(s: Session) -> dict[str, str]:
    """The database's change stamps by name, in one read (empty on a database without them)."""
    return {name: token for name, token in s.execute(select(ChangeStamp.name, ChangeStamp.token))}


# One compiled directory per database (engine URL) with the stamp it was built under; ``clear_all``
# (tests) forgets them. A TTL of a day only bounds memory held for a database nobody asks about.
_compiled: TTLCache[tuple[str, CompiledDirectory]] = TTLCache(ttl=86_400, maxsize=8)
_build_lock = threading.Lock()


def unit_directory(s: Session, stamp: str | None) -> CompiledDirectory | SqlDirectory:
    """The compiled organisation when the database has a stamp for it, else the per-question queries.

    The stamp must be read in ``s``'s transaction before this is called: the directory is then at
    least as new as the stamp it is filed under."""
    if stamp is None:
        return SqlDirectory(s)
    url = str(s.get_bind().engine.url)
    held = _compiled.peek(url)
    if held is not None and held[0] == stamp:
        return held[1]
    with _build_lock:  # one build per process at a time; the others find it built
        held = _compiled.peek(url)
        if held is not None and held[0] == stamp:
            return held[1]
        built = CompiledDirectory.load(s)
        _compiled.clear_key(url)
        _compiled.get(url, lambda: (stamp, built))
        return built
