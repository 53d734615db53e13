"""The demo's 抄送知悉 flow at the seeds' shape: nearly every event is information copied to units.

Dazu's centre received 126,686 events in 5.5 months: 124,093 copied for information (抄送知悉) and
2,593 routed for handling (流转处理) — 98 %. The scripted history (:mod:`shuzhi.demo.history`) plays the
handled cases through the services, step by step; this module adds the notices beside them so that
the notify share of the demo is :data:`NOTIFY_SHARE`, with realistic copy lists: the towns of a river
basin (flood and water notices), the departments on a list (weather warnings, traffic control), or one
town and the responsible company (water or power cuts).

Tens of thousands of notices are not replayed one service call each: they are written as the services
would write them (event, copies with their read deadline, timeline: register → notify → a copy per
unit → each read → all read), in a few bulk inserts (COPY on PostgreSQL), numbered from the event
book like a bulk import. Copies still unread at ``now`` get their supervision clock, so the demo's
sweep reminds them and flags the late ones as it would live.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.districts import same_case
from shuzhi.adapters.db.sequences import reserve
from shuzhi.adapters.db.tables import Area, Event, EventClass, Task, TimelineEntry, Unit, UTCDateTime
from shuzhi.adapters.db.tables_supervision import SupervisionClock
from shuzhi.demo.district import DemoDistrict
from shuzhi.domain.events import TaskRole, TaskState
from shuzhi.domain.supervision import SupervisionRules, TaskClock, plan, plan_to_json, read_deadline
from shuzhi.services import copy_lists
from shuzhi.services.bulk_events import _insert_rows
from shuzhi.services.deadlines import default_calendar
from shuzhi.services.intake import number_prefix
from shuzhi.services.unit_of_work import UnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")

#: The notify share the demo is built to (the seeds: 124,093 / 126,686 = 97.95 %).
NOTIFY_SHARE = 0.96

#: River basins of the district and the share of its towns each drains (濑溪河 is Dazu's main river).
BASINS = (("濑溪河流域", 0.45), ("淮远河流域", 0.3), ("窟窿河流域", 0.25))
#: Department copy lists as a district centre keeps them.
DEPARTMENT_LISTS: dict[str, tuple[str, ...]] = {
    "防汛抗旱成员单位": ("D500111-SLJ", "D500111-YJJ", "D500111-QXJ", "D500111-GHZYJ", "D500111-SWGS",
                        "D500111-JTW"),
    "交通管制通报单位": ("D500111-JXJ", "D500111-JTW", "D500111-CGJ", "D500111-GAJ"),
    "城市运行保障单位": ("D500111-SWGS", "D500111-GDGS", "D500111-RQGS", "D500111-DXGS", "D500111-CGJ"),
}
_TOPICS = {
    "9001": ["计划停水通知", "管网检修停水通知", "水压降低提示"],
    "9002": ["计划停电通知", "线路检修停电通知", "临时停电通知"],
    "9003": ["暴雨蓝色预警信息", "高温黄色预警信息", "大风蓝色预警信息", "强降雨天气提示"],
    "9004": ["道路施工交通管制", "大型活动交通管制", "桥梁检测临时管制"],
    "9005": ["工作动态通报", "重点工作提示", "值班值守提醒"],
}
_BASIN_CLASSES = ("9003", "9001")
_LIST_CLASSES = {"防汛抗旱成员单位": "9003", "交通管制通报单位": "9004", "城市运行保障单位": "9005"}


def basins(district: DemoDistrict) -> dict[str, list[str]]:
    """Each basin's town centres (the towns in a fixed order split by the basins' shares)."""
    towns = [f"C{t['code']}" for t in district.towns]
    out: dict[str, list[str]] = {}
    start = 0
    for i, (name, share) in enumerate(BASINS):
        end = len(towns) if i == len(BASINS) - 1 else start + round(share * len(towns))
        out[name] = towns[start:end]
        start = end
    return out


def seed_copy_lists(uow: Callable[[], UnitOfWork], district: DemoDistrict, actor: Any) -> None:
    """The district centre's copy lists: one per basin, one per department list."""
    lists = {f"{name}镇街": codes for name, codes in basins(district).items()}
    lists.update({name: list(codes) for name, codes in DEPARTMENT_LISTS.items()})
    for name, codes in lists.items():
        copy_lists.create(uow(), copy_lists.CopyListIn(name=name, unit_codes=codes), actor)


def _moment(day: datetime, rng: random.Random) -> datetime:
    hour = rng.choices(range(24), weights=[1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 8, 10, 12, 12, 11, 10, 9, 8,
                                           6, 4, 3, 2])[0]
    return day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60)).astimezone(UTC)


def seed_copies(factory: sessionmaker[Session], district: DemoDistrict, start: datetime, now: datetime,
                seed: int, share: float = NOTIFY_SHARE) -> int:
    """Add notify-only events between ``start`` and ``now`` until they are ``share`` of all events;
    returns how many were added. Deterministic for a seed."""
    rng = random.Random(f"copies-{seed}")
    with factory() as s:
        handled = s.scalar(select(func.count(Event.id)).where(Event.mode != "notify")) or 0
        notified = s.scalar(select(func.count(Event.id)).where(Event.mode == "notify")) or 0
        wanted = round(handled * share / (1 - share)) - notified
        if wanted <= 0:
            return 0
        units = {code: (uid, name) for uid, code, name in s.execute(select(Unit.id, Unit.code, Unit.name))}
        areas = {code: (aid, path) for aid, code, path in s.execute(select(Area.id, Area.code, Area.path))}
        classes = {code: cid for cid, code in s.execute(
            select(EventClass.id, EventClass.code).where(EventClass.default_mode == "notify"))}
        district_code = next(code for code, (_aid, path) in areas.items() if path.count("/") == 3)
        owner = units[f"C{district_code}"][0]
        rows = _build(rng, district, start, now, wanted, units, areas, classes, district_code, owner)
        _store(s, rows, district_code, now)
        s.commit()
    return wanted


def _build(rng: random.Random, district: DemoDistrict, start: datetime, now: datetime, n: int,
           units: dict[str, tuple[int, str]], areas: dict[str, tuple[int, str]], classes: dict[str, int],
           district_code: str, owner: int) -> list[dict[str, Any]]:
    by_basin = basins(district)
    days = max(1, (now - start).days + 1)
    day0 = start.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    cal, rules = default_calendar(), SupervisionRules()
    out: list[dict[str, Any]] = []
    while len(out) < n:
        at = _moment(day0 + timedelta(days=rng.randrange(days)), rng)
        if at >= now - timedelta(minutes=30):
            continue
        kind = rng.random()
        if kind < 0.15:  # a basin's towns (flood, water)
            basin = rng.choice(list(by_basin))
            cls = rng.choice(_BASIN_CLASSES)
            copied = list(by_basin[basin])
            area, title = district_code, f"{rng.choice(_TOPICS[cls])}（{basin}）"
        elif kind < 0.35:  # a department list
            name = rng.choice(list(DEPARTMENT_LISTS))
            cls = _LIST_CLASSES[name]
            copied = list(DEPARTMENT_LISTS[name])
            area, title = district_code, f"{rng.choice(_TOPICS[cls])}（{name}）"
        else:  # one town and the responsible company
            town = rng.choice(district.towns)
            cls = rng.choice(("9001", "9002", "9004", "9005"))
            dept = {"9001": "D500111-SWGS", "9002": "D500111-GDGS", "9004": "D500111-JXJ"}.get(cls, "D500111-ZWB")
            copied = [f"C{town['code']}", dept]
            area, title = town["code"], f"{rng.choice(_TOPICS[cls])}（{town['name']}）"
        notified_at = at + timedelta(minutes=rng.uniform(3, 40))
        due = read_deadline(cal, rules, notified_at, None)
        assert due is not None
        reads: list[tuple[str, datetime | None]] = []
        for code in copied:
            r = rng.random()
            if r < 0.96:  # most copies are read in good time
                read_at: datetime | None = notified_at + (due - notified_at) * rng.uniform(0.02, 0.8)
            elif r < 0.99:
                read_at = due + timedelta(hours=rng.uniform(0.5, 30))
            else:
                read_at = None
            if read_at is not None and read_at > now:
                read_at = None
            reads.append((code, read_at))
        out.append({"at": at, "class": classes[cls], "area": areas[area], "title": title, "notified_at": notified_at,
                    "due": due, "reads": reads, "copied": [(code, units[code]) for code in copied]})
    out.sort(key=lambda r: r["at"])
    return out


_TEXT: dict[datetime, str] = {}


def _sqlite_time(v: datetime) -> str:
    # as UTCDateTime stores it on SQLite; a notice's few instants recur in all its rows
    text = _TEXT.get(v)
    if text is None:
        if len(_TEXT) > 200_000:
            _TEXT.clear()
        text = _TEXT[v] = v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return text


def _insert(s: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Many rows at once: COPY on PostgreSQL (:func:`shuzhi.services.bulk_events._insert_rows`); on SQLite
    one ``executemany`` of plain tuples, converting only the time and JSON columns — SQLAlchemy's
    per-value bind processing would be most of the demo's seeding time for the notices' rows."""
    if not rows:
        return
    if s.get_bind().dialect.name == "postgresql":
        _insert_rows(s, table, rows)
        return
    columns = list(rows[0])
    times = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, UTCDateTime)]
    jsons = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
    pick = itemgetter(*columns)
    values: list[tuple[Any, ...]] = []
    for r in rows:
        row = list(pick(r))
        for i in times:
            if row[i] is not None:
                row[i] = _sqlite_time(row[i])
        for i in jsons:
            if row[i] is not None:
                row[i] = json.dumps(row[i], ensure_ascii=False)
        values.append(tuple(row))
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    s.connection().exec_driver_sql(sql, values)


def _store(s: Session, rows: list[dict[str, Any]], district_code: str, now: datetime) -> None:
    by_prefix: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_prefix.setdefault(number_prefix(district_code, r["at"]), []).append(r)
    for prefix, group in sorted(by_prefix.items()):
        first = reserve(s, prefix, len(group))
        for i, r in enumerate(group):
            r["number"] = f"{prefix}-{first + i:06d}"
    system = "业务系统推送"
    events = []
    for r in rows:
        read_times = [t for _, t in r["reads"]]
        closed = max(read_times) if all(t is not None for t in read_times) else None
        events.append({
            "number": r["number"], "source": "legacy_system", "request_type": None, "event_class_id": r["class"],
            "title": r["title"], "description": f"{r['title']}，请各单位知悉并做好相关工作。",
            "area_id": r["area"][0], "area_path": r["area"][1], "urgency": "normal", "mode": "notify",
            "state": "closed" if closed else "notifying", "intake_key": f"demo-copy:{r['number']}",
            "owner_unit_id": None, "self_handled": False, "rework_count": 0, "return_count": 0,
            "received_at": r["at"], "dispatched_at": r["notified_at"], "closed_at": closed,
            "updated_at": closed or r["notified_at"], "version": 2 + len(r["reads"]), "district_code": district_code})
    owner = s.scalar(select(Unit.id).where(Unit.code == f"C{district_code}"))
    for e in events:
        e["owner_unit_id"] = owner
    _insert(s, Event.__table__, events)
    ids = dict(s.execute(select(Event.number, Event.id).where(Event.intake_key.like("demo-copy:%"))).all())
    tasks = []
    for r in rows:
        for (_code, (unit_id, _name)), (_c, read_at) in zip(r["copied"], r["reads"], strict=True):
            tasks.append({
                "event_id": ids[r["number"]], "district_code": district_code, "unit_id": unit_id,
                "role": TaskRole.NOTIFY.value,
                "state": (TaskState.READ if read_at else TaskState.NOTIFIED).value, "dispatched_by_unit_id": owner,
                "dispatched_by": system, "dispatched_at": r["notified_at"], "read_due_at": r["due"],
                "read_at": read_at, "ended_at": read_at, "rework_count": 0, "updated_at": read_at or r["notified_at"],
                "version": 2 if read_at else 1})
    _insert(s, Task.__table__, tasks)
    task_ids = {(e, u): t for t, e, u in s.execute(
        select(Task.id, Task.event_id, Task.unit_id).join(Event, same_case(Task))
        .where(Event.intake_key.like("demo-copy:%")))}
    lines: list[dict[str, Any]] = []

    def line(event_id: int, task_id: int | None, at: datetime, action: str, before: str | None, after: str | None,
             actor: str, payload: dict[str, Any]) -> None:
        lines.append({"event_id": event_id, "district_code": district_code, "task_id": task_id, "at": at, "actor_id": None, "actor": actor,
                      "action": action, "from_state": before, "to_state": after, "reason": None, "payload": payload})

    clocks: list[dict[str, Any]] = []
    cal, rules = default_calendar(), SupervisionRules()
    for r in rows:
        eid = ids[r["number"]]
        line(eid, None, r["at"], "event.register", None, "registered", system,
             {"source": "legacy_system", "owner": f"C{district_code}", "grid": None, "located": False})
        line(eid, None, r["notified_at"], "event.notify", "registered", "notifying", system,
             {"units": [c for c, _ in r["copied"]], "copy_lists": []})
        for code, (unit_id, name) in r["copied"]:
            line(eid, task_ids[(eid, unit_id)], r["notified_at"], "task.create", None, "notified", system,
                 {"unit": code, "unit_name": name, "role": "notify", "accept_due_at": None, "handle_due_at": None,
                  "provisional_years": [], "read_due_at": r["due"].isoformat()})
        for (code, (unit_id, name)), (_c, read_at) in sorted(zip(r["copied"], r["reads"], strict=True),
                                                              key=lambda x: x[1][1] or now):
            tid = task_ids[(eid, unit_id)]
            if read_at is None:
                steps = plan(TaskClock(state=TaskState.NOTIFIED, role=TaskRole.NOTIFY, dispatched_at=r["notified_at"],
                                       accept_due_at=None, handle_due_at=None, handle_unit=None,
                                       since=r["notified_at"], read_due_at=r["due"]), rules, cal)
                if steps:
                    clocks.append({"task_id": tid, "event_id": eid, "district_code": district_code, "next_due_at": steps[0].due_at,
                                   "plan": plan_to_json(steps), "failures": 0, "updated_at": r["notified_at"],
                                   "unit_id": unit_id, "dispatched_by_unit_id": owner, "event_number": r["number"],
                                   "event_title": r["title"], "area_path": r["area"][1], "event_class_id": r["class"]})
                continue
            line(eid, tid, read_at, "task.read", "notified", "read", f"{name}值班员", {"unit": code, "role": "notify"})
        if all(t is not None for _, t in r["reads"]):
            last = max(t for _, t in r["reads"] if t is not None)
            line(eid, None, last, "event.all_read", "notifying", "closed", system, {})
    _insert(s, TimelineEntry.__table__, lines)
    _insert(s, SupervisionClock.__table__, clocks)
