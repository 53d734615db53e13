"""The indicator tree (sector → runway → sub-runway → indicator) and devices: import, export, lookups.

One flat file carries the whole tree: each row is an indicator with the codes and names of its
sector, runway and sub-runway (the shape offices keep it in, one row per indicator in Excel).
Imports are all or nothing, every problem named by row and column, updated by code on re-import.

:func:`indicator_info` / :func:`indicators_by_id` are the lookups other parts (warnings, plans,
cockpit) use: an indicator with its lineage of codes, owning department and unit of measure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables import Area, Unit
from shuzhi.adapters.db.tables_sensing import Device, Indicator, IndicatorArea, IndicatorNode
from shuzhi.domain import permissions as p
from shuzhi.domain.sensing import (
    MEASURED_LEVELS,
    NodeKind,
    ValueType,
    format_frequency,
    parse_flag,
    parse_frequency,
)
from shuzhi.services.actors import Actor
from shuzhi.services.errors import NotFound
from shuzhi.services.importing import ImportReport, Rows, canonical_rows, split_list
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork

INDICATOR_COLUMNS = [
    "sector_code", "sector_name", "runway_code", "runway_name", "sub_runway_code", "sub_runway_name",
    "code", "name", "unit", "value_type", "frequency", "source_system", "owner_unit_code", "level", "areas",
    "realtime", "warning", "traceable", "evaluable", "retention_days", "description",
    "sector_lead_unit_code", "runway_lead_unit_code",
]
INDICATOR_ALIASES = {
    "sector_code": ["板块编码"], "sector_name": ["板块", "板块名称"],
    "runway_code": ["跑道编码"], "runway_name": ["跑道", "跑道名称"],
    "sub_runway_code": ["子跑道编码"], "sub_runway_name": ["子跑道", "子跑道名称"],
    "code": ["指标编码", "编码"], "name": ["指标名称", "名称", "指标"], "unit": ["计量单位", "单位"],
    "value_type": ["数据类型", "值类型"], "frequency": ["更新频率", "采集频率", "频率"],
    "source_system": ["数据来源", "来源系统"], "owner_unit_code": ["责任单位", "责任单位编码", "牵头部门"],
    "level": ["层级", "统计层级"], "areas": ["区域", "监测区域"],
    "realtime": ["实时性"], "warning": ["预警性"], "traceable": ["回溯性"], "evaluable": ["可评价性"],
    "retention_days": ["保留天数"], "description": ["说明", "备注"],
    "sector_lead_unit_code": ["板块牵头单位"], "runway_lead_unit_code": ["跑道建设牵头单位", "跑道牵头单位"],
}
INDICATOR_REQUIRED = ["sector_code", "sector_name", "runway_code", "runway_name", "sub_runway_code",
                      "sub_runway_name", "code", "name", "value_type", "frequency", "owner_unit_code", "level"]
DEVICE_COLUMNS = ["code", "name", "indicator_code", "area_code", "lon", "lat"]
DEVICE_ALIASES = {"code": ["设备编码", "编码"], "name": ["设备名称", "名称"], "indicator_code": ["指标编码"],
                  "area_code": ["区域编码"], "lon": ["经度"], "lat": ["纬度"]}
_LEVELS = ("sector", "runway", "sub_runway")
FLAGS = ("realtime", "warning", "traceable", "evaluable")


@dataclass(frozen=True)
class IndicatorInfo:
    """What another part needs to know about an indicator, without touching the tables."""

    id: int
    code: str
    name: str
    unit: str
    value_type: str
    frequency_s: int
    level: str
    #: Codes from the sector down to the indicator itself: (sector, runway, sub_runway, indicator).
    lineage: tuple[str, ...]
    lineage_names: tuple[str, ...]
    owner_unit_id: int
    owner_unit_code: str
    owner_unit_name: str
    source_system: str
    realtime: bool
    warning: bool
    traceable: bool
    evaluable: bool
    active: bool


def _infos(s: Session, where: Any) -> list[IndicatorInfo]:
    nodes = {n.id: n for n in s.scalars(select(IndicatorNode))}
    rows = s.execute(select(Indicator, Unit.code, Unit.name).join(Unit, Unit.id == Indicator.owner_unit_id)
                     .where(where).order_by(Indicator.code)).all()
    out = []
    for ind, unit_code, unit_name in rows:
        chain: list[IndicatorNode] = []
        node: IndicatorNode | None = nodes.get(ind.sub_runway_id)
        while node is not None:
            chain.append(node)
            node = nodes.get(node.parent_id) if node.parent_id else None
        chain.reverse()
        out.append(IndicatorInfo(
            id=ind.id, code=ind.code, name=ind.name, unit=ind.unit, value_type=ind.value_type,
            frequency_s=ind.frequency_s, level=ind.level,
            lineage=(*[n.code for n in chain], ind.code), lineage_names=(*[n.name for n in chain], ind.name),
            owner_unit_id=ind.owner_unit_id, owner_unit_code=unit_code, owner_unit_name=unit_name,
            source_system=ind.source_system, realtime=ind.realtime, warning=ind.warning,
            traceable=ind.traceable, evaluable=ind.evaluable, active=ind.active))
    return out


def indicator_info(session: Session, code: str) -> IndicatorInfo | None:
    """One indicator by code (inside a caller's transaction, e.g. a reading hook); None if unknown."""
    found = _infos(session, Indicator.code == code)
    return found[0] if found else None


def indicators_by_id(session: Session, ids: Iterable[int]) -> dict[int, IndicatorInfo]:
    """Indicators by id, for a batch of readings (``StoredReading.indicator_id``)."""
    wanted = sorted(set(ids))
    out: dict[int, IndicatorInfo] = {}
    for i in range(0, len(wanted), 900):
        out.update({x.id: x for x in _infos(session, Indicator.id.in_(wanted[i:i + 900]))})
    return out


def get_indicator(uow: UnitOfWork, actor: Actor, code: str) -> dict[str, Any]:
    """One indicator as the API shows it (with its areas and devices)."""
    authz.require(actor, p.INDICATOR_READ)
    with uow:
        s = uow.session
        info = indicator_info(s, code)
        if info is None:
            raise NotFound(f"indicator {code} not found")
        row = _export_rows(s, Indicator.code == code)[0]
        devices = s.execute(select(Device.code, Device.name, Area.code).join(Area, Area.id == Device.area_id)
                            .where(Device.indicator_id == info.id).order_by(Device.code)).all()
        return {**row, "lineage": list(info.lineage), "lineage_names": list(info.lineage_names),
                "owner_unit_name": info.owner_unit_name, "frequency_s": info.frequency_s,
                "devices": [{"code": c, "name": n, "area_code": a} for c, n, a in devices]}


# --- import -----------------------------------------------------------------------------------------


def _by_code(s: Session, model: Any, codes: Iterable[str]) -> dict[str, Any]:
    codes = sorted(set(codes))
    out: dict[str, Any] = {}
    for i in range(0, len(codes), 900):  # stay under SQLite's bound-parameter limit
        out.update({o.code: o for o in s.scalars(select(model).where(model.code.in_(codes[i:i + 900])))})
    return out


def _check_tree(rows: Rows, stored: dict[str, IndicatorNode]) -> None:
    """A node code names one node: same kind, name and parent on every row and as already stored."""
    seen: dict[str, tuple[str, str, str, str]] = {}  # code → (kind, name, parent code, first row)
    for r in rows.items:
        parent = ""
        for kind in _LEVELS:
            code, name = r.get(f"{kind}_code", ""), r.get(f"{kind}_name", "")
            if not code:
                rows.error(r, f"{kind}_code", f"{kind} code is empty")
                break
            if not name:
                rows.error(r, f"{kind}_name", f"{kind} name is empty")
            first = seen.get(code)
            if first is None:
                seen[code] = (kind, name, parent, r["__row__"])
                node = stored.get(code)
                if node is not None and node.kind != kind:
                    rows.error(r, f"{kind}_code", f"'{code}' is already a {node.kind}, not a {kind}")
            elif first[0] != kind:
                rows.error(r, f"{kind}_code", f"'{code}' is a {first[0]} on row {first[3]}, not a {kind}")
            elif first[1] != name:
                rows.error(r, f"{kind}_name", f"'{code}' is named '{first[1]}' on row {first[3]}")
            elif first[2] != parent:
                rows.error(r, f"{kind}_code", f"'{code}' sits under '{first[2] or '-'}' on row {first[3]}")
            parent = code


_LEADS = ("sector", "runway")


def _check_leads(rows: Rows, units: dict[str, Unit]) -> dict[str, int]:
    """Lead units named on the rows (跑道建设牵头单位): node code → unit id. A blank cell names none and
    leaves the stored one; a node named with two different units is refused at the second row."""
    out: dict[str, tuple[str, str]] = {}  # node code → (unit code, first row)
    for r in rows.items:
        for kind in _LEADS:
            column = f"{kind}_lead_unit_code"
            code, node = r.get(column, ""), r.get(f"{kind}_code", "")
            if not code or not node:
                continue
            if code not in units:
                rows.error(r, column, f"unknown unit '{code}' (import the units first)")
                continue
            first = out.setdefault(node, (code, r["__row__"]))
            if first[0] != code:
                rows.error(r, column, f"'{node}' is led by '{first[0]}' on row {first[1]}")
    return {node: units[code].id for node, (code, _) in out.items()}


def _parse_indicator(r: Mapping[str, str], rows: Rows, units: dict[str, Unit],
                     areas: dict[str, Area]) -> dict[str, Any] | None:
    ok = True

    def bad(column: str, message: str) -> None:
        nonlocal ok
        ok = False
        rows.error(r, column, message)

    if not r.get("name"):
        bad("name", "name is empty")
    if r.get("code") and len(r["code"]) > 40:
        bad("code", "code is longer than 40 characters")
    try:
        value_type = ValueType(r.get("value_type", "").strip().lower())
    except ValueError:
        bad("value_type", f"value_type must be one of {', '.join(v.value for v in ValueType)}")
        value_type = ValueType.NUMBER
    try:
        frequency_s = parse_frequency(r.get("frequency", ""))
    except ValueError as exc:
        bad("frequency", str(exc))
        frequency_s = 0
    unit = units.get(r.get("owner_unit_code", ""))
    if unit is None:
        bad("owner_unit_code", f"unknown unit '{r.get('owner_unit_code', '')}' (import the units first)")
    level = r.get("level", "")
    if level not in MEASURED_LEVELS:
        bad("level", f"level must be one of {', '.join(MEASURED_LEVELS)}")
    area_ids = []
    for code in split_list(r.get("areas", "")):
        area = areas.get(code)
        if area is None:
            bad("areas", f"unknown area '{code}'")
        elif level in MEASURED_LEVELS and MEASURED_LEVELS.index(area.level) > MEASURED_LEVELS.index(level):
            bad("areas", f"area '{code}' is a {area.level}, below the indicator's level ({level})")
        else:
            area_ids.append(area.id)
    flags = {}
    for flag in FLAGS:
        try:
            flags[flag] = parse_flag(r.get(flag, "")) if r.get(flag, "") else flag != "evaluable"
        except ValueError as exc:
            bad(flag, str(exc))
    retention = None
    if r.get("retention_days", ""):
        try:
            retention = int(r["retention_days"])
            if retention < 1:
                raise ValueError
        except ValueError:
            bad("retention_days", "retention_days is a whole number of days ≥ 1")
    if len(r.get("unit", "")) > 20:
        bad("unit", "unit is longer than 20 characters")
    if not ok or unit is None:
        return None
    return {"fields": {"name": r["name"], "unit": r.get("unit", ""), "value_type": value_type.value,
                       "frequency_s": frequency_s, "source_system": r.get("source_system", ""),
                       "owner_unit_id": unit.id, "level": level, "retention_days": retention,
                       "description": r.get("description", ""), "active": True, **flags},
            "areas": set(area_ids)}


def import_indicators(uow: UnitOfWork, rows: Iterable[Mapping[str, str]], actor: Actor, *,
                      dry_run: bool = False) -> ImportReport:
    """Create or update the tree and its indicators by code; all or nothing.

    Nodes and indicators absent from the file are kept (a file may carry one sector); an indicator's
    areas are replaced by the file's.
    """
    authz.require(actor, p.INDICATOR_WRITE)
    with uow:
        s = uow.session
        checked = canonical_rows(rows, INDICATOR_ALIASES, INDICATOR_REQUIRED)
        if checked.fatal:
            return checked.report
        node_codes = {r.get(f"{k}_code", "") for r in checked.items for k in _LEVELS}
        stored_nodes = _by_code(s, IndicatorNode, node_codes)
        _check_tree(checked, stored_nodes)
        units = _by_code(s, Unit, (r.get(k, "") for r in checked.items
                                   for k in ("owner_unit_code", "sector_lead_unit_code", "runway_lead_unit_code")))
        leads = _check_leads(checked, units)
        areas = _by_code(s, Area, (a for r in checked.items for a in split_list(r.get("areas", ""))))
        parsed = {r["code"]: _parse_indicator(r, checked, units, areas) for r in checked.items if r.get("code")}
        clash = _by_code(s, IndicatorNode, (r.get("code", "") for r in checked.items))
        for r in checked.items:
            if r.get("code") in clash or r.get("code") in node_codes:
                checked.error(r, "code", f"'{r['code']}' is already a node of the tree, not an indicator")
        report = checked.report
        if report.errors:
            return report
        # nodes, top down, so that each parent has its id before its children
        nodes = dict(stored_nodes)
        for depth, kind in enumerate(_LEVELS):
            for order, r in enumerate(checked.items):
                code, name = r[f"{kind}_code"], r[f"{kind}_name"]
                parent = nodes[r[f"{_LEVELS[depth - 1]}_code"]] if depth else None
                node = nodes.get(code)
                if node is None:
                    node = IndicatorNode(code=code, name=name, kind=kind, sort_order=order,
                                         parent_id=parent.id if parent else None)
                    s.add(node)
                    nodes[code] = node
                else:
                    node.name = name
                    node.parent_id = parent.id if parent else None
                if code in leads and node.lead_unit_id != leads[code]:
                    audit.record_change(s, actor, "indicator_node.lead_unit", f"indicator_node:{code}",
                                        {"lead_unit_id": node.lead_unit_id}, {"lead_unit_id": leads[code]})
                    node.lead_unit_id = leads[code]
            s.flush()
        existing = _by_code(s, Indicator, parsed)
        current_areas: dict[int, set[int]] = {}
        if existing:
            for ind_id, area_id in s.execute(select(IndicatorArea.indicator_id, IndicatorArea.area_id)
                                             .where(IndicatorArea.indicator_id.in_([i.id for i in existing.values()]))):
                current_areas.setdefault(ind_id, set()).add(area_id)
        for r in checked.items:
            item = parsed[r["code"]]
            assert item is not None
            fields = {**item["fields"], "sub_runway_id": nodes[r["sub_runway_code"]].id}
            ind = existing.get(r["code"])
            before = None if ind is None else {**{k: getattr(ind, k) for k in fields},
                                                "areas": sorted(current_areas.get(ind.id, set()))}
            audit.record_change(s, actor, "indicator.import", f"indicator:{r['code']}", before,
                                {**fields, "areas": sorted(item["areas"])})
            if ind is None:
                ind = Indicator(code=r["code"], **fields)
                s.add(ind)
                s.flush()
                report.created += 1
            else:
                same = all(getattr(ind, k) == v for k, v in fields.items())
                same = same and current_areas.get(ind.id, set()) == item["areas"]
                for k, v in fields.items():
                    setattr(ind, k, v)
                if same:
                    report.unchanged += 1
                else:
                    report.updated += 1
            if current_areas.get(ind.id, set()) != item["areas"]:
                s.execute(delete(IndicatorArea).where(IndicatorArea.indicator_id == ind.id))
                s.add_all(IndicatorArea(indicator_id=ind.id, area_id=a) for a in item["areas"])
        s.flush()
        if not dry_run:
            from shuzhi.services.sensing import warning_config

            warning_config.bump(s)  # real-time and frequency feed the staleness alarm
            uow.commit()
        return report


def import_devices(uow: UnitOfWork, rows: Iterable[Mapping[str, str]], actor: Actor, *,
                   dry_run: bool = False) -> ImportReport:
    """Create or update devices by code; each reports one indicator at one area of its level."""
    authz.require(actor, p.INDICATOR_WRITE)
    with uow:
        s = uow.session
        checked = canonical_rows(rows, DEVICE_ALIASES, ["code", "indicator_code", "area_code"])
        if checked.fatal:
            return checked.report
        indicators = _by_code(s, Indicator, (r.get("indicator_code", "") for r in checked.items))
        areas = _by_code(s, Area, (r.get("area_code", "") for r in checked.items))
        roots = _indicator_roots(s, [i.id for i in indicators.values()])
        parsed: dict[str, dict[str, Any]] = {}
        for r in checked.items:
            ind, area = indicators.get(r.get("indicator_code", "")), areas.get(r.get("area_code", ""))
            if len(r.get("code", "")) > 60:
                checked.error(r, "code", "code is longer than 60 characters")
            if ind is None:
                checked.error(r, "indicator_code", f"unknown indicator '{r.get('indicator_code', '')}'")
            if area is None:
                checked.error(r, "area_code", f"unknown area '{r.get('area_code', '')}'")
            elif ind is not None and not area_allowed(ind.level, roots.get(ind.id, ()), area.level, area.path):
                checked.error(r, "area_code", f"indicator {ind.code} is not measured in area {area.code} "
                                              f"(a {area.level}; it is measured per {ind.level})")
            coords: dict[str, float | None] = {}
            for axis, lo, hi in (("lon", -180, 180), ("lat", -90, 90)):
                text = r.get(axis, "")
                try:
                    coords[axis] = float(text) if text else None
                    if text and not lo <= float(text) <= hi:
                        raise ValueError
                except ValueError:
                    checked.error(r, axis, f"{axis} must be a number between {lo} and {hi}")
            if ind is not None and area is not None:
                parsed[r["code"]] = {"name": r.get("name", ""), "indicator_id": ind.id, "area_id": area.id,
                                     "active": True, **coords}
        report = checked.report
        if report.errors:
            return report
        existing = _by_code(s, Device, parsed)
        # one audit entry per changed device, chained and written in one bulk insert: a city imports
        # millions of devices, and an entry at a time (a chain lock and a flush each) took hours
        changes: list[tuple[str, Any, Any]] = []
        for code, fields in parsed.items():
            dev = existing.get(code)
            changes.append((f"device:{code}", None if dev is None else {k: getattr(dev, k) for k in fields}, fields))
            if dev is None:
                s.add(Device(code=code, **fields))
                report.created += 1
            elif all(getattr(dev, k) == v for k, v in fields.items()):
                report.unchanged += 1
            else:
                for k, v in fields.items():
                    setattr(dev, k, v)
                report.updated += 1
        audit.record_changes(s, actor, "device.import", changes)
        if not dry_run:
            uow.commit()
        return report


def _indicator_roots(s: Session, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    out: dict[int, list[str]] = {}
    for i in range(0, len(ids), 900):
        for ind_id, path in s.execute(select(IndicatorArea.indicator_id, Area.path)
                                      .join(Area, Area.id == IndicatorArea.area_id)
                                      .where(IndicatorArea.indicator_id.in_(ids[i:i + 900]))):
            out.setdefault(ind_id, []).append(path)
    return {k: tuple(v) for k, v in out.items()}


def area_allowed(indicator_level: str, roots: Sequence[str], area_level: str, area_path: str) -> bool:
    """An indicator is measured at areas of its level, inside its listed areas (all when none listed)."""
    if area_level != indicator_level:
        return False
    return not roots or any(area_path.startswith(r) for r in roots)


# --- export and browse ------------------------------------------------------------------------------


def _export_rows(s: Session, where: Any) -> list[dict[str, str]]:
    nodes = {n.id: n for n in s.scalars(select(IndicatorNode))}
    area_codes = dict(s.execute(select(Area.id, Area.code)).all())
    unit_codes = dict(s.execute(select(Unit.id, Unit.code)).all())
    inds = list(s.scalars(select(Indicator).where(where).order_by(Indicator.code)))
    links: dict[int, list[str]] = {}
    for ind_id, area_id in s.execute(select(IndicatorArea.indicator_id, IndicatorArea.area_id)):
        links.setdefault(ind_id, []).append(area_codes[area_id])
    out = []
    for ind in inds:
        sub = nodes[ind.sub_runway_id]
        runway = nodes[sub.parent_id] if sub.parent_id else sub
        sector = nodes[runway.parent_id] if runway.parent_id else runway
        out.append({
            "sector_code": sector.code, "sector_name": sector.name, "runway_code": runway.code,
            "runway_name": runway.name, "sub_runway_code": sub.code, "sub_runway_name": sub.name,
            "code": ind.code, "name": ind.name, "unit": ind.unit, "value_type": ind.value_type,
            "frequency": format_frequency(ind.frequency_s), "source_system": ind.source_system,
            "owner_unit_code": unit_codes[ind.owner_unit_id], "level": ind.level,
            "areas": ";".join(sorted(links.get(ind.id, []))),
            **{f: "true" if getattr(ind, f) else "false" for f in FLAGS},
            "retention_days": str(ind.retention_days or ""), "description": ind.description,
            "sector_lead_unit_code": unit_codes.get(sector.lead_unit_id, "") if sector.lead_unit_id else "",
            "runway_lead_unit_code": unit_codes.get(runway.lead_unit_id, "") if runway.lead_unit_id else "",
        })
    return out


def export_indicators(uow: UnitOfWork, actor: Actor) -> list[dict[str, str]]:
    """Every indicator in the import format (sorted by code), so that export → import is a no-op."""
    authz.require(actor, p.INDICATOR_READ)
    with uow:
        rows = _export_rows(uow.session, Indicator.id.isnot(None))
        audit.record(uow.session, actor, "export", "indicators", {"rows": len(rows)})
        uow.commit()
        return rows


def export_devices(uow: UnitOfWork, actor: Actor) -> list[dict[str, str]]:
    authz.require(actor, p.INDICATOR_READ)
    with uow:
        rows = uow.session.execute(
            select(Device, Indicator.code, Area.code, Area.path).join(Indicator, Indicator.id == Device.indicator_id)
            .join(Area, Area.id == Device.area_id).where(authz.area_clause(actor, Area.path))
            .order_by(Device.code)).all()
        out = [{"code": d.code, "name": d.name, "indicator_code": ic, "area_code": ac,
                "lon": "" if d.lon is None else str(d.lon), "lat": "" if d.lat is None else str(d.lat)}
                for d, ic, ac, _ in rows]
        audit.record(uow.session, actor, "export", "devices", {"rows": len(out)})
        uow.commit()
        return out


def tree(uow: UnitOfWork, actor: Actor) -> list[dict[str, Any]]:
    """The knowledge tree as nested nodes, indicators at the leaves with their unit and owner."""
    authz.require(actor, p.INDICATOR_READ)
    with uow:
        s = uow.session
        nodes = list(s.scalars(select(IndicatorNode).order_by(IndicatorNode.sort_order, IndicatorNode.code)))
        out: dict[int, dict[str, Any]] = {n.id: {"code": n.code, "name": n.name, "kind": n.kind, "children": []}
                                          for n in nodes}
        roots: list[dict[str, Any]] = []
        for n in nodes:
            (out[n.parent_id]["children"] if n.parent_id in out else roots).append(out[n.id])
        by_code = {n.code: n.id for n in nodes}
        for info in _infos(s, Indicator.active.is_(True)):
            out[by_code[info.lineage[-2]]]["children"].append({
                "code": info.code, "name": info.name, "kind": "indicator", "unit": info.unit,
                "value_type": info.value_type, "frequency": format_frequency(info.frequency_s),
                "level": info.level, "owner_unit_code": info.owner_unit_code,
                "owner_unit_name": info.owner_unit_name})
        return roots


def counts(uow: UnitOfWork, actor: Actor) -> dict[str, int]:
    """How many sectors, runways, sub-runways and indicators the tree holds."""
    authz.require(actor, p.INDICATOR_READ)
    with uow:
        s = uow.session
        out = {k.value: 0 for k in NodeKind}
        for n in s.scalars(select(IndicatorNode.kind)):
            out[n] = out.get(n, 0) + 1
        out["indicator"] = len(s.scalars(select(Indicator.id)).all())
        return out
