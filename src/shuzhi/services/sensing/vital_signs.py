"""The city's vital signs by sector and runway (一览无余, issue #22): the indicator tree with a five-colour
state on every node, in the reader's scope, and the installation's rule that decides it.

The facts come from a few set queries, however many indicators there are: open warnings grouped by
indicator, state and level; the newest readings (``reading_latest``) counted per indicator with the
stale ones among them (one ``CASE`` gives each indicator the cut-off of its own reporting frequency);
the tree, the indicators and their measured areas. Everything else — each indicator's colour, the
roll-up to sub-runways, runways and sectors — is :mod:`shuzhi.domain.vital_signs` over those rows.

Scope: warnings and readings count when their area lies in the reader's subtrees. An indicator is in
the reader's tree when it has a series there, or could have one: measured at the reader's level or
below, in areas (its listed ones, or all) that meet the reader's.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Unit, UTCDateTime
from shuzhi.adapters.db.tables_sensing import Indicator, IndicatorArea, IndicatorNode, LatestReading, VitalSignRule
from shuzhi.adapters.db.tables_warnings import IndicatorWarning
from shuzhi.domain import permissions as p
from shuzhi.domain import vital_signs as vs
from shuzhi.domain.conditions import RuleProblem
from shuzhi.domain.sensing import MEASURED_LEVELS, format_frequency
from shuzhi.domain.thresholds import LEVELS
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Conflict, Invalid
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork

DEPTHS = ("sector", "runway", "sub_runway", "indicator")
_OPEN = ("pending", "firing")


# --- the rule ----------------------------------------------------------------------------------------


def _rule_row(s: Session) -> VitalSignRule | None:
    return s.get(VitalSignRule, 1)


def _rule(s: Session) -> vs.VitalRule:
    row = _rule_row(s)
    if row is None:
        return vs.default_rule()
    rule, _problems = vs.parse_rule(row.document)
    # a stored rule was checked when saved; a later, stricter check must not blank the cockpit
    return rule or vs.default_rule()


def _invalid(problems: list[RuleProblem]) -> Invalid:
    first = problems[0]
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return Invalid(f"the vital-sign rule is not valid: {first.path}: {first.message}{more}",
                   field=first.path.removeprefix("$."), details=[x.as_dict() for x in problems])


def get_rule(uow: UnitOfWork, actor: Actor) -> dict[str, Any]:
    """The rule in force (the installation's, else the default) with the default beside it."""
    authz.require(actor, p.INDICATOR_READ)
    with uow:
        row = _rule_row(uow.session)
        return {"document": {**vs.DEFAULT_RULE, **row.document} if row else vs.DEFAULT_RULE,
                "default": vs.DEFAULT_RULE, "custom": row is not None, "version": row.version if row else 0,
                "updated_by": row.updated_by if row else None, "updated_at": row.updated_at if row else None}


def put_rule(uow: UnitOfWork, actor: Actor, doc: Any, *, expected_version: int | None = None,
             now: datetime | None = None) -> dict[str, Any]:
    """Store the installation's rule (checked first: 422 naming the field); ``null`` restores the default.

    Audited with the document before and after."""
    authz.require(actor, p.INDICATOR_WRITE)
    if doc is not None:
        _rule_doc, problems = vs.parse_rule(doc)
        if problems:
            raise _invalid(problems)
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        row = _rule_row(s)
        if expected_version is not None and expected_version != (row.version if row else 0):
            raise Conflict("the vital-sign rule was changed by someone else; reload it", field="version")
        before = row.document if row else None
        if doc is None:
            if row is not None:
                s.delete(row)
        elif row is None:
            s.add(VitalSignRule(id=1, document=doc, version=1, updated_by=actor.label, updated_at=at))
        else:
            row.document, row.version, row.updated_by, row.updated_at = doc, row.version + 1, actor.label, at
        audit.record_change(s, actor, "vital_sign_rule.update", "vital_sign_rule", before, doc)
        from shuzhi.services.sensing import warning_config

        warning_config.bump(s)  # ``stale_after`` is the staleness alarm's too
        uow.commit()
    return get_rule(uow, actor)


# --- the facts ---------------------------------------------------------------------------------------


def _scope_level(s: Session, actor: Actor) -> int:
    """The index in MEASURED_LEVELS of the reader's highest area (0 for installation-wide readers)."""
    if actor.area_paths is None:
        return 0
    levels = s.scalars(select(Area.level).where(Area.path.in_(list(actor.area_paths)))).all()
    known = [MEASURED_LEVELS.index(lv) for lv in levels if lv in MEASURED_LEVELS]
    return min(known) if known else len(MEASURED_LEVELS)


def _meets(actor: Actor, roots: list[str] | None) -> bool:
    if actor.area_paths is None or not roots:
        return True
    return any(r.startswith(a) or a.startswith(r) for r in roots for a in actor.area_paths)


def _warning_facts(s: Session, actor: Actor) -> dict[int, tuple[dict[str, int], int]]:
    out: dict[int, tuple[dict[str, int], int]] = {}
    rows = s.execute(select(IndicatorWarning.indicator_id, IndicatorWarning.state, IndicatorWarning.level,
                            func.count()).where(IndicatorWarning.state.in_(_OPEN),
                                                authz.area_clause(actor, IndicatorWarning.area_path))
                     .group_by(IndicatorWarning.indicator_id, IndicatorWarning.state, IndicatorWarning.level))
    for ind_id, state, level, n in rows:
        firing, pending = out.get(ind_id, ({}, 0))
        if state == "firing" and level:
            firing[level] = firing.get(level, 0) + int(n)
        elif state == "pending":
            pending += int(n)
        out[ind_id] = (firing, pending)
    return out


def _reading_facts(s: Session, actor: Actor, now: datetime, stale_after: float) -> dict[int, tuple[int, int]]:
    """Per indicator: series with a newest reading in scope, and how many of them are stale."""
    frequencies = s.scalars(select(Indicator.frequency_s).distinct()).all()
    if not frequencies:
        return {}
    cutoff = case(*[(Indicator.frequency_s == f, literal(now - timedelta(seconds=f * stale_after), UTCDateTime()))
                    for f in frequencies], else_=literal(now, UTCDateTime()))
    stmt: Any = (select(LatestReading.indicator_id, func.count(),
                        func.sum(case((LatestReading.at < cutoff, 1), else_=0)))
                 .join(Indicator, Indicator.id == LatestReading.indicator_id)
                 .group_by(LatestReading.indicator_id))
    if actor.area_paths is not None:
        stmt = stmt.join(Area, Area.id == LatestReading.area_id).where(authz.area_clause(actor, Area.path))
    return {i: (int(n), int(stale or 0)) for i, n, stale in s.execute(stmt)}


def _colour_node(node: dict[str, Any], rule: vs.VitalRule) -> str | None:
    children = node["children"]
    colours = [_colour_node(c, rule) if c["kind"] != "indicator" else c["colour"] for c in children]
    node["colour"] = vs.rollup_colour(colours, rule)
    counts: dict[str, int] = defaultdict(int)
    for c in children:
        for k, v in (c.get("counts") or ({c["colour"]: 1} if c["colour"] else {})).items():
            counts[k] += v
    node["counts"] = {c: counts.get(c, 0) for c in vs.COLOURS}
    colour: str | None = node["colour"]
    return colour


def vital_signs(uow: UnitOfWork, actor: Actor, *, depth: str = "indicator",
                now: datetime | None = None) -> dict[str, Any]:
    """The tree of sectors → runways → sub-runways → indicators with a colour on each, in the reader's scope.

    Each node carries its ``colour`` (None: no indicator in scope), its lead unit and ``counts`` (its
    indicators by colour); each indicator its reasons, firing warnings by level, pending, series and
    stale series. ``depth`` stops the tree early (the cockpit asks for sectors only)."""
    authz.require(actor, p.INDICATOR_READ)
    if depth not in DEPTHS:
        raise Invalid(f"depth must be one of {', '.join(DEPTHS)}", field="depth")
    at = now or datetime.now(UTC)
    with uow:
        s = uow.session
        rule = _rule(s)
        units = {i: (c, n) for i, c, n in s.execute(select(Unit.id, Unit.code, Unit.name))}
        # plain rows, not ORM objects: thousands of sub-runways are read on every cockpit refresh
        nodes = s.execute(select(IndicatorNode.id, IndicatorNode.code, IndicatorNode.name, IndicatorNode.kind,
                                 IndicatorNode.parent_id, IndicatorNode.lead_unit_id)
                          .order_by(IndicatorNode.sort_order, IndicatorNode.code)).all()
        roots: dict[int, list[str]] = defaultdict(list)
        for ind_id, path in s.execute(select(IndicatorArea.indicator_id, Area.path)
                                      .join(Area, Area.id == IndicatorArea.area_id)):
            roots[ind_id].append(path)
        warnings = _warning_facts(s, actor)
        readings = _reading_facts(s, actor, at, rule.stale_after)
        level = _scope_level(s, actor)
        inds = s.execute(select(Indicator.id, Indicator.code, Indicator.name, Indicator.unit, Indicator.sub_runway_id,
                                Indicator.frequency_s, Indicator.level, Indicator.realtime, Indicator.owner_unit_id)
                         .where(Indicator.active.is_(True)).order_by(Indicator.code)).all()

    out: dict[int, dict[str, Any]] = {}
    for n in nodes:
        lead = units.get(n.lead_unit_id) if n.lead_unit_id else None
        out[n.id] = {"code": n.code, "name": n.name, "kind": n.kind, "lead_unit_code": lead[0] if lead else None,
                     "lead_unit_name": lead[1] if lead else None, "children": []}
    tree: list[dict[str, Any]] = []
    for n in nodes:
        (out[n.parent_id]["children"] if n.parent_id in out else tree).append(out[n.id])
    for i in inds:
        firing, pending = warnings.get(i.id, ({}, 0))
        series, stale = readings.get(i.id, (0, 0))
        in_scope = series or firing or pending or (
            i.level in MEASURED_LEVELS and MEASURED_LEVELS.index(i.level) >= level and _meets(actor, roots.get(i.id)))
        if not in_scope or i.sub_runway_id not in out:
            continue
        verdict = vs.indicator_colour(vs.IndicatorFacts(realtime=i.realtime, firing=firing, pending=pending,
                                                        series=series, stale=stale if i.realtime else 0), rule)
        owner = units.get(i.owner_unit_id, ("", ""))
        out[i.sub_runway_id]["children"].append({
            "code": i.code, "name": i.name, "kind": "indicator", "unit": i.unit, "colour": verdict.colour,
            "reasons": list(verdict.reasons), "firing": {lv: firing.get(lv, 0) for lv in LEVELS},
            "pending": pending, "series": series, "stale": stale if i.realtime else 0, "realtime": i.realtime,
            "frequency": format_frequency(i.frequency_s), "owner_unit_code": owner[0], "owner_unit_name": owner[1]})
    for node in tree:
        _colour_node(node, rule)
    cut = DEPTHS.index(depth)

    def trim(node: dict[str, Any], d: int) -> None:
        if d >= cut:
            node["children"] = []
            return
        for c in node["children"]:
            if c["kind"] != "indicator":
                trim(c, d + 1)

    for node in tree:
        trim(node, 0)
    return {"at": at, "colours": list(vs.COLOURS), "sectors": tree}


# --- one colour per area, for many areas at once ---------------------------------------------------


def area_colours(uow: UnitOfWork, actor: Actor, areas: list[tuple[str, str, str]], *,
                 now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Each area's vital-signs colour — the worst of its sectors', as :func:`vital_signs` gives the reader
    narrowed to that area — for many areas (a level's children) in one set of queries, not one tree a child.

    ``areas``: (code, path, level), siblings whose paths all start with one parent's. The warnings and the
    newest readings are grouped by indicator and by the prefix of their area path that is a child's path
    (one query each per distinct path length: siblings' codes are mostly one length); the tree, the
    indicators and their areas are read once. Answer: ``{code: {"colour", "sectors": {code: colour}}}``;
    areas outside the reader's scope get nothing (they are not asked for)."""
    authz.require(actor, p.INDICATOR_READ)
    at = now or datetime.now(UTC)
    visible = [a for a in areas if authz.path_visible(actor, a[1])]
    if not visible:
        return {}
    by_path = {a[1]: a for a in visible}
    lengths = sorted({len(a[1]) for a in visible})
    with uow:
        s = uow.session
        rule = _rule(s)
        nodes = s.execute(select(IndicatorNode.id, IndicatorNode.code, IndicatorNode.kind, IndicatorNode.parent_id)
                          .order_by(IndicatorNode.sort_order, IndicatorNode.code)).all()
        roots: dict[int, list[str]] = defaultdict(list)
        for ind_id, path in s.execute(select(IndicatorArea.indicator_id, Area.path)
                                      .join(Area, Area.id == IndicatorArea.area_id)):
            roots[ind_id].append(path)
        inds = s.execute(select(Indicator.id, Indicator.sub_runway_id, Indicator.level, Indicator.realtime)
                         .where(Indicator.active.is_(True)).order_by(Indicator.code)).all()
        warnings: dict[str, dict[int, tuple[dict[str, int], int]]] = defaultdict(dict)
        readings: dict[str, dict[int, tuple[int, int]]] = defaultdict(dict)
        frequencies = s.scalars(select(Indicator.frequency_s).distinct()).all()
        cutoff = case(*[(Indicator.frequency_s == f,
                         literal(at - timedelta(seconds=f * rule.stale_after), UTCDateTime()))
                        for f in frequencies], else_=literal(at, UTCDateTime())) if frequencies else None
        for length in lengths:
            paths = [a[1] for a in visible if len(a[1]) == length]
            wp = func.substr(IndicatorWarning.area_path, 1, length)
            for prefix, ind_id, state, level, n in s.execute(
                    select(wp, IndicatorWarning.indicator_id, IndicatorWarning.state, IndicatorWarning.level,
                           func.count())
                    .where(IndicatorWarning.state.in_(_OPEN), wp.in_(paths),
                           authz.area_clause(actor, IndicatorWarning.area_path))
                    .group_by(wp, IndicatorWarning.indicator_id, IndicatorWarning.state, IndicatorWarning.level)):
                firing, pending = warnings[prefix].get(ind_id, ({}, 0))
                if state == "firing" and level:
                    firing[level] = firing.get(level, 0) + int(n)
                elif state == "pending":
                    pending += int(n)
                warnings[prefix][ind_id] = (firing, pending)
            if cutoff is None:
                continue
            rp_ = func.substr(Area.path, 1, length)
            for prefix, ind_id, n, stale in s.execute(
                    select(rp_, LatestReading.indicator_id, func.count(),
                           func.sum(case((LatestReading.at < cutoff, 1), else_=0)))
                    .join(Indicator, Indicator.id == LatestReading.indicator_id)
                    .join(Area, Area.id == LatestReading.area_id)
                    .where(rp_.in_(paths), authz.area_clause(actor, Area.path))
                    .group_by(rp_, LatestReading.indicator_id)):
                readings[prefix][ind_id] = (int(n), int(stale or 0))

    parent = {n.id: n.parent_id for n in nodes}
    kind = {n.id: n.kind for n in nodes}
    sectors = [n for n in nodes if n.parent_id not in kind]  # the tree's roots, as vital_signs has them
    children: dict[int, list[int]] = defaultdict(list)
    for n in nodes:
        if n.parent_id in kind:
            children[n.parent_id].append(n.id)
    out: dict[str, dict[str, Any]] = {}
    for path, (code, _path, level) in by_path.items():
        here = narrowed_actor(actor, path)
        depth = MEASURED_LEVELS.index(level) if level in MEASURED_LEVELS else len(MEASURED_LEVELS)
        w, r = warnings.get(path, {}), readings.get(path, {})
        leaf: dict[int, list[str | None]] = defaultdict(list)
        for i in inds:
            firing, pending = w.get(i.id, ({}, 0))
            series, stale = r.get(i.id, (0, 0))
            in_scope = series or firing or pending or (i.level in MEASURED_LEVELS
                                                       and MEASURED_LEVELS.index(i.level) >= depth
                                                       and _meets(here, roots.get(i.id)))
            if not in_scope or i.sub_runway_id not in parent:
                continue
            leaf[i.sub_runway_id].append(vs.indicator_colour(vs.IndicatorFacts(
                realtime=i.realtime, firing=firing, pending=pending, series=series,
                stale=stale if i.realtime else 0), rule).colour)

        def colour(node_id: int, leaf: dict[int, list[str | None]] = leaf) -> str | None:
            return vs.rollup_colour([*leaf.get(node_id, []), *(colour(c) for c in children[node_id])], rule)

        per = {n.code: colour(n.id) for n in sectors}
        coloured = [c for c in per.values() if c]
        out[code] = {"colour": max(coloured, key=vs.COLOURS.index) if coloured else None, "sectors": per}
    return out


def narrowed_actor(actor: Actor, path: str) -> Actor:
    """The reader limited to one area (as the level view narrows him for an area's own vital signs)."""
    from dataclasses import replace

    return replace(actor, area_paths=(path,), unit_id=None, person_id=None)
