"""Scripted event histories for the demo: what the people of the district did, step by step.

Each :class:`ScriptedEvent` is an intake plus the steps that followed (dispatch, accept, report back …),
each with its time and the person who took it. :mod:`shuzhi.demo.replay` plays them through the real
services. Outcomes cover every state: most events are closed and called back (about 90 % satisfied),
and some are returned, reworked, extended, suspended, merged, cancelled, reclassified, self-handled,
notify-only, or still open.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shapely.geometry import Point

from shuzhi.demo.district import DemoDistrict, mobile_number, person_name
from shuzhi.services.hotline.phrase_book import phrases

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Step:
    at: datetime
    action: str
    actor: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScriptedEvent:
    at: datetime
    intake: dict[str, Any]
    steps: tuple[Step, ...]


_DETAILS = {
    "hotline": ["市民来电反映：{place}{what}，已持续多日，希望尽快处理。", "来电人称{place}{what}，影响出行，请相关单位核实处置。"],
    "citizen_platform": ["网友在“民呼我为”平台反映{place}{what}。", "群众留言：{place}{what}，多次反映未解决。"],
    "grid_patrol": ["网格员巡查发现{place}{what}。", "巡查中发现{place}{what}，已拍照取证。"],
    "sensor_warning": ["物联感知设备告警：{place}{what}。"],
    "online_app": ["渝快办用户提交：{place}{what}。"],
    "legacy_system": ["{what}：{place}，由业务系统推送。"],
    "duty_officer": ["值班员接报：{place}{what}。"],
    "upper_centre": ["市中心交办：{place}{what}，请按时限办理并反馈。"],
}
_ROADS = ["北山路", "五星大道", "龙岗西路", "二环北路", "海棠大道", "昌州大道", "香国路", "石刻大道", "双桥路", "滨河路"]
# Text that citizens really type sometimes contains markup; the UI must show it as text.
_ODD = ["<b>紧急！！！</b>", "<script>alert('催')</script>", "请尽快处理 & 回复 <谢谢>"]


def _source_for(cls: dict[str, Any], rng: random.Random) -> tuple[str, str | None]:
    if cls["mode"] == "notify":
        return "legacy_system", None
    if cls["major"] == "17":
        return rng.choice(["hotline", "hotline", "citizen_platform", "online_app"]), rng.choice(
            ["consult", "complain", "help", "suggest"])
    if cls["major"] == "14" or (cls["major"] == "01" and rng.random() < 0.4):
        return rng.choice(["sensor_warning", "hotline", "duty_officer"]), "report"
    if cls["who"] == "grid" and rng.random() < 0.6:
        return "grid_patrol", "report"
    r = rng.random()
    if r < 0.45:
        return "hotline", rng.choice(["complain", "help", "complain", "suggest"])
    if r < 0.7:
        return "citizen_platform", "complain"
    if r < 0.85:
        return "online_app", "complain"
    if r < 0.95:
        return "legacy_system", "report"
    return "upper_centre", "report"


def _time_of_day(day: datetime, rng: random.Random) -> datetime:
    local = day.astimezone(SHANGHAI)
    # busiest in the working day, quieter in the evening, rare at night
    hour = rng.choices(range(24), weights=[1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 8, 10, 12, 12, 11, 10, 9, 8,
                                           6, 4, 3, 2])[0]
    return local.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60)).astimezone(UTC)


def _hours(rng: random.Random, lo: float, hi: float) -> timedelta:
    return timedelta(hours=rng.uniform(lo, hi))


class _Script:
    """Builds the steps of one event, keeping time moving forward."""

    def __init__(self, start: datetime, rng: random.Random) -> None:
        self.t = start
        self.rng = rng
        self.steps: list[Step] = []

    def step(self, after: timedelta, action: str, actor: str, **params: Any) -> None:
        self.t = self.t + after
        self.steps.append(Step(self.t, action, actor, params))


def _handler(d: DemoDistrict, unit_code: str, grid: dict[str, Any]) -> str:
    if unit_code.startswith("G"):
        return str(grid["worker"])
    if unit_code.startswith("V"):
        return f"village.{unit_code[1:]}"
    if unit_code.startswith("C500111") and len(unit_code) > 7:
        town = next(t for t in d.towns if f"C{t['code']}" == unit_code)
        return f"dispatcher.{town['key']}"
    return f"handler.{unit_code.split('-', 1)[1].lower()}"


def _target(cls: dict[str, Any], grid: dict[str, Any]) -> str:
    if cls["who"] == "grid":
        return f"G{grid['code']}"
    if cls["who"] == "town":
        return f"C{grid['town']}"
    return str(cls["dept"])


def _make(d: DemoDistrict, at: datetime, rng: random.Random, index: int,
          earlier: list[ScriptedEvent], live: bool = False) -> ScriptedEvent:
    classes = d.classes
    cls = rng.choices(classes, weights=[c["weight"] for c in classes])[0]
    grid = rng.choices(d.grids, weights=[3 if g["street"] else 1 for g in d.grids])[0]
    town = next(t for t in d.towns if t["code"] == grid["town"])
    source, request_type = _source_for(cls, rng)
    minx, miny, maxx, maxy = grid["geom"].bounds
    lon, lat = grid["point"]
    for _ in range(10):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if grid["geom"].contains(Point(x, y)):
            lon, lat = x, y
            break
    place = f"{town['name']}{rng.choice(_ROADS)}{rng.randint(1, 300)}号附近"
    # people's words for the problem (services/hotline/phrase_book.py), drawn from a generator of their own so
    # that the rest of the history stays as it was for a given seed
    said = phrases(cls["code"])
    what = random.Random(f"said-{index}-{cls['code']}").choice(said) if said else cls["name"]
    description = rng.choice(_DETAILS[source]).format(place=place, what=what)
    if rng.random() < 0.01:
        description += rng.choice(_ODD)
    reporter = source in ("hotline", "citizen_platform", "online_app")
    centre_duty = f"duty.{town['key']}" if source == "grid_patrol" else rng.choice(
        ["duty.district", "duty.district2", "duty.district3", "dispatcher.district1"])
    actor = grid["worker"] if source == "grid_patrol" else centre_duty
    intake = {
        "source": source, "request_type": request_type, "event_class_code": cls["code"],
        "title": f"{cls['name']}（{town['name']}）", "description": description,
        "lon": round(lon, 6), "lat": round(lat, 6), "address": place,
        "reporter_name": person_name(rng) if reporter else None,
        "reporter_phone": mobile_number(rng) if reporter else None,
        "external_ref": f"12345-{at:%Y%m%d}-{index:05d}" if source == "hotline" else None,
        "actor": actor,
    }
    s = _Script(at, rng)
    if live:
        # a live event waits for the duty officer's triage in the demo, most of the time
        if rng.random() < 0.5:
            _handle(d, s, cls, grid, centre_duty, rng, classes, earlier, index, full=False)
        return ScriptedEvent(at, intake, tuple(s.steps))
    if cls["mode"] == "notify":
        units = [f"C{grid['town']}", str(cls["dept"])]
        s.step(_hours(rng, 0.1, 1), "notify", centre_duty, unit_codes=units)
        for u in units:
            if rng.random() < 0.95:
                s.step(_hours(rng, 0.2, 6), "read", _handler(d, u, grid), unit_code=u)
        return ScriptedEvent(at, intake, tuple(s.steps))
    _handle(d, s, cls, grid, centre_duty, rng, classes, earlier, index, full=True)
    return ScriptedEvent(at, intake, tuple(s.steps))


def _handle(d: DemoDistrict, s: _Script, cls: dict[str, Any], grid: dict[str, Any], duty: str,
            rng: random.Random, classes: list[dict[str, Any]], earlier: list[ScriptedEvent], index: int,
            full: bool) -> None:
    r = rng.random()
    if r < 0.02:
        s.step(_hours(rng, 0.1, 2), "cancel", duty, reason="经核实为无效信息")
        return
    if r < 0.05 and earlier:
        same = [i for i, e in enumerate(earlier[-200:], start=max(0, len(earlier) - 200))
                if e.intake["event_class_code"] == cls["code"]]
        if same:
            s.step(_hours(rng, 0.1, 2), "merge", duty, master_index=same[-1], reason="重复反映，合并办理")
            return
    if cls["who"] == "grid" and s.steps == [] and rng.random() < 0.5 and duty.startswith("duty.") \
            and not duty.startswith("duty.district"):
        s.step(_hours(rng, 0.05, 0.5), "self_handle", grid["worker"], result="已现场处置完毕")
        s.step(_hours(rng, 0.5, 4), "verify", duty)
        s.step(_hours(rng, 0.1, 1), "close", duty)
        return
    target = _target(cls, grid)
    if target.startswith("G") and cls["dept"] and rng.random() < 0.08:
        # the grid finds it beyond its means (上报): it rises to the town centre, which sends it on
        town_duty = f"duty.{next(t for t in d.towns if t['code'] == grid['town'])['key']}"
        s.step(_hours(rng, 0.1, 1), "dispatch", duty, units=[{"unit_code": target, "role": "lead"}])
        s.step(_hours(rng, 0.2, 2), "escalate", _handler(d, target, grid), unit_code=target,
               reason="需专业队伍和机械处置，超出网格处置能力")
        duty, target = town_duty, str(cls["dept"])
    elif rng.random() < 0.06:
        # a first dispatch to the wrong unit, returned with a reason, then re-dispatched
        wrong = rng.choice([c["dept"] for c in classes if c["dept"] != cls["dept"] and c["who"] == ""])
        s.step(_hours(rng, 0.1, 1), "dispatch", duty, units=[{"unit_code": wrong, "role": "lead"}])
        s.step(_hours(rng, 0.5, 4), "return", _handler(d, wrong, grid), unit_code=wrong, reason="不属于本单位职责")
    s.step(_hours(rng, 0.1, 1.5), "dispatch", duty, units=[{"unit_code": target, "role": "lead"}])
    if rng.random() < 0.04:
        other = rng.choice([c for c in classes if c["dept"] == cls["dept"] and c["code"] != cls["code"]
                            and c["mode"] == "handle"] or [cls])
        s.step(_hours(rng, 0.1, 1), "reclassify", duty, event_class_code=other["code"], reason="分类调整")
    if not full and rng.random() < 0.5:
        return
    handler = _handler(d, target, grid)
    # signed for within the shortest accept limit (0.25 h): a task left unsigned past its limit rises
    # to the centre above (the recent ones above that are never signed for show it)
    s.step(_hours(rng, 0.03, 0.24), "accept", handler, unit_code=target)
    if full and rng.random() < 0.03:
        # a unit that lets it slide: reminders, overdue, the urging notice and the cards follow, and a
        # leader urges (督办) it a few days in; it is reported back late, or not at all yet
        wait = _hours(rng, 60, 120)
        s.step(wait, "urge", "leader.district", due_at=s.t + wait + _hours(rng, 24, 72),
               instruction="该件已超期，请主要负责同志亲自督办，限期办结")
        if rng.random() < 0.5:
            return
        s.step(_hours(rng, 100, 200), "report_back", handler, unit_code=target, result="已整改完毕（超期办结）")
        s.step(_hours(rng, 1, 10), "verify", duty)
        s.step(_hours(rng, 0.1, 2), "close", duty)
        return
    if rng.random() < 0.03:
        s.step(_hours(rng, 1, 4), "request_extension", handler, unit_code=target,
               until=s.t + timedelta(days=25), reason="需协调多部门，申请延期")
        s.step(_hours(rng, 0.5, 3), rng.choice(["approve_extension", "deny_extension"]), duty, unit_code=target)
    if rng.random() < 0.02:
        s.step(_hours(rng, 1, 4), "suspend", duty, unit_code=target, reason="等待天气好转后施工")
        s.step(_hours(rng, 12, 48), "resume", duty, unit_code=target)
    s.step(_hours(rng, 2, 60), "report_back", handler, unit_code=target, result="已按要求处置完毕，现场照片已上传")
    if rng.random() < 0.06:
        s.step(_hours(rng, 1, 8), "rework", duty, reason="现场核查未整改到位")
        s.step(_hours(rng, 2, 24), "report_back", handler, unit_code=target, result="已重新整改")
    s.step(_hours(rng, 1, 10), "verify", duty)
    s.step(_hours(rng, 0.1, 2), "close", duty)
    satisfied = rng.random() < 0.9
    s.step(_hours(rng, 16, 30), "callback", duty, satisfied=satisfied,
           comment=None if satisfied else "问题反复出现，不满意")
    if not satisfied:
        s.step(_hours(rng, 0.03, 0.24), "accept", handler, unit_code=target)
        s.step(_hours(rng, 4, 48), "report_back", handler, unit_code=target, result="已再次处置")
        s.step(_hours(rng, 1, 8), "verify", duty)
        s.step(_hours(rng, 0.1, 2), "close", duty)
        s.step(_hours(rng, 16, 30), "callback", duty, satisfied=True)


def build_history(district: DemoDistrict, start: datetime, days: int, seed: int,
                  per_day: int = 120) -> list[ScriptedEvent]:
    """``days`` of events from ``start`` (UTC), ``per_day`` on average, in time order."""
    rng = random.Random(seed * 1009 + days)
    events: list[ScriptedEvent] = []
    times: list[datetime] = []
    for day in range(days):
        base = start + timedelta(days=day)
        weekend = base.astimezone(SHANGHAI).weekday() >= 5
        n = int(per_day * (0.6 if weekend else 1.0) * rng.uniform(0.85, 1.15))
        times += [_time_of_day(base, rng) for _ in range(n)]
    for i, at in enumerate(sorted(times)):
        events.append(_make(district, at, rng, i, events))
    return events


def next_live_event(district: DemoDistrict, now: datetime, rng: random.Random) -> ScriptedEvent:
    """A new report arriving now, for the running demo."""
    return _make(district, now, rng, rng.randrange(100000), [], live=True)

