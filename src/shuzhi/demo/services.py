"""The demo's one window: the catalogue (300 matters of 29 departments, 8 bundles), the district hall,
a point in every town and a few villages, and a year of cases and ratings — all through the services
a clerk, a department and a rating office use, at their historical moments.

Every case goes through :func:`shuzhi.services.window.cases.apply`, every department's share through
the loop's own accept and report-back; about four in five completed cases are rated, mostly well,
and every 差评 is verified (most within the limit, a few late, the last ones still open).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from shuzhi.adapters.db.tables import Event, Task
from shuzhi.adapters.db.tables_public_services import ServiceWindow
from shuzhi.demo.district import DemoDistrict
from shuzhi.demo.services_data import ABBR, BUNDLES, MATTERS, VARIANTS, code_of, matter_code
from shuzhi.domain.service_applications import valid_id_number
from shuzhi.services import commands as c
from shuzhi.services import task_handling
from shuzhi.services.actors import SYSTEM, Actor, resolve_actor
from shuzhi.services.errors import ServiceError
from shuzhi.services.unit_of_work import UnitOfWork
from shuzhi.services.window import case_views, cases, catalogue, ratings

Uow = Callable[[], UnitOfWork]
_CHECK = "10X98765432"
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_number(rng: random.Random) -> str:
    body = f"500111{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
    out = body + _CHECK[sum(int(ch) * w for ch, w in zip(body, _W, strict=True)) % 11]
    assert valid_id_number(out)
    return out


#: 一枚印章管审批: the district's approval bureau, to which the licences (行政许可) were moved — it approves
#: them on the departments' behalf under its one seal (docs/services.md)
BUREAU = {"code": "D500111-XZSPJ", "name": "大足区行政审批局", "kind": "department", "level": "district",
          "area_code": "500111", "parent_code": "C500111", "duties": "", "coverage": "", "phone": "023-43700000"}
BUREAU_HANDLER = {"code": "handler.xzspj", "name": "审批科经办人", "phone": "13800000000",
                  "unit_code": BUREAU["code"], "role": "handler"}


def matter_documents() -> list[dict[str, Any]]:
    docs = []
    for abbr, rows in MATTERS.items():
        for i, (name, keywords, statutory, promised, places, variants) in enumerate(rows, start=1):
            kind = "licence" if "许可" in name else "benefit" if any(w in name for w in ("补助", "补贴", "津贴", "救助")) \
                else "public_service"
            base = {"department_code": f"D500111-{abbr}", "kind": kind, "keywords": keywords,
                    "legal_basis": f"《重庆市政务服务事项实施清单》大足区{abbr}-{i:03d}",
                    "conditions": "申请人符合法律法规规定的条件", "fee": "不收费",
                    "statutory_days": statutory, "promised_days": promised,
                    "places": [ABBR[p] for p in places],
                    "materials": [{"code": "id", "name": "申请人身份证件", "required": True},
                                  {"code": "form", "name": "申请表", "required": True},
                                  {"code": "proof", "name": "相关证明材料", "required": True, "deferrable": True},
                                  {"code": "photo", "name": "近期免冠照片", "required": False}],
                    **({"approved_by": BUREAU["code"]} if kind == "licence" else {})}
            docs.append({**base, "code": matter_code(abbr, i), "name": name})
            if variants:
                for v, word in enumerate(VARIANTS, start=1):
                    docs.append({**base, "code": matter_code(abbr, i, v), "name": f"{name}（{word}）",
                                 "promised_days": max(1, promised // 2)})
    return docs


def bundle_documents() -> list[dict[str, Any]]:
    out = []
    for b in BUNDLES:
        items = [{"matter_code": code_of(abbr, name), "stage": stage, "fields": fields,
                  **({"when": when} if when else {})}
                 for abbr, name, stage, fields, when in b["items"]]  # type: ignore[attr-defined]
        out.append({**b, "items": items})
    return out


def load_catalogue(uow: Uow, district: DemoDistrict) -> None:
    from shuzhi.services.organisation import import_people, import_units

    units = import_units(uow(), [BUREAU])
    people = import_people(uow(), [BUREAU_HANDLER])
    assert not units.errors and not people.errors, (units.errors, people.errors)
    for doc in matter_documents():
        catalogue.save_matter(uow(), doc, SYSTEM)
    for doc in bundle_documents():
        catalogue.save_bundle(uow(), doc, SYSTEM)
    catalogue.save_window(uow(), "W-HALL-01", "大足区政务服务中心综合窗口", "district_hall", "D500111-ZWB", "500111",
                          "大足区政务服务中心一楼", SYSTEM)
    for t in district.towns:
        catalogue.save_window(uow(), f"W-{t['code']}", f"{t['name']}便民服务中心", "town", f"C{t['code']}",
                              t["code"], f"{t['name']}便民服务中心", SYSTEM)
    for v in district.villages[::12]:
        catalogue.save_window(uow(), f"W-{v['code']}", f"{v['name']}便民服务站", "village", f"V{v['code']}", v["code"],
                              f"{v['name']}便民服务站", SYSTEM)


def _form_for(bundle: dict[str, Any], rng: random.Random, applicant_id: str, phone: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for f in bundle["fields"]:
        kind = f.get("kind", "text")
        values[f["key"]] = {"id_number": applicant_id, "phone": phone, "date": "2026-01-15",
                            "number": str(rng.randint(60, 240))}.get(kind) or \
            (f["options"][0] if kind == "choice" else f"{f['label']}{rng.randint(1, 99)}")
    return values


def service_history_days(days: int) -> int:
    """A year of cases and ratings for a real demo (``shuzhi demo`` replays 21 days of events by
    default); the tests' one- or two-day demos keep a history as short as their events'."""
    return 365 if days >= 7 else days


def seed_services(uow: Uow, district: DemoDistrict, start: datetime, now: datetime, seed: int,
                  cases_per_day: float = 1.2) -> dict[str, int]:
    """The catalogue, then ``cases_per_day`` cases a working day from ``start`` to ``now``."""
    rng = random.Random(seed * 31 + 7)
    load_catalogue(uow, district)
    bundles = bundle_documents()
    singles = [d for d in matter_documents() if "town" in d["places"] or "village" in d["places"]]
    with uow() as u:
        windows = list(u.session.scalars(select(ServiceWindow).order_by(ServiceWindow.code)))
        window_units = {w.code: (w.kind, w.unit_id) for w in windows}
    clerks = {"district_hall": "handler.zwb"}
    actors: dict[str, Actor] = {}

    def actor(code: str) -> Actor:
        if code not in actors:
            with uow() as u:
                actors[code] = resolve_actor(u.session, code)
        return actors[code]

    def clerk_for(window_code: str) -> str:
        kind, _ = window_units[window_code]
        if kind == "district_hall":
            return clerks["district_hall"]
        area = window_code.removeprefix("W-")
        if kind == "town":
            town = next(t for t in district.towns if t["code"] == area)
            return f"duty.{town['key']}"
        return f"village.{area}"

    counts = {"cases": 0, "completed": 0, "ratings": 0, "bad": 0}
    day = start
    while day < now - timedelta(hours=8):
        day += timedelta(days=1)
        if day.weekday() >= 5:
            continue
        for _ in range(max(0, round(rng.gauss(cases_per_day, 1)))):
            at = day.replace(hour=1 + rng.randint(0, 6), minute=rng.randint(0, 59))
            if at >= now:
                break
            w = rng.choice(windows) if rng.random() < 0.6 else windows[0]
            _one_case(uow, rng, w, at, now, bundles, singles, actor, clerk_for, counts)
    counts.update(seed_whistles(uow, district, start, now, rng, actor))
    return counts


#: (name, town index, what it calls about, the departments that answer)
ENTERPRISES = [
    ("重庆大足石刻文化旅游发展有限公司", 0, "景区周边停车位不足，旅游旺季交通拥堵", ["JTW", "CGJ"]),
    ("重庆双桥精密铸造有限公司", 1, "厂区用电负荷增加，申请增容报装", ["GDGS", "JXW"]),
    ("大足龙水五金制品有限公司", 2, "五金市场周边道路破损影响货车通行", ["JTW", "ZJW"]),
    ("重庆邮亭鲫鱼餐饮管理有限公司", 3, "门店食品经营许可证延续办理咨询", ["SCJGJ"]),
    ("重庆宝顶山农业开发有限公司", 4, "农产品冷链仓储用地规划咨询", ["GHZYJ", "NYNCW"]),
    ("大足高新区智能装备有限公司", 0, "高层次技术人才落户和子女入学", ["RSJ", "JW", "GAJ"]),
    ("重庆棠香新材料科技有限公司", 1, "企业技术中心认定申报辅导", ["JXW"]),
    ("重庆万古汽摩配件有限公司", 5, "园区供水压力不足影响生产", ["SWGS", "CGJ"]),
]
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def seed_whistles(uow: Uow, district: DemoDistrict, start: datetime, now: datetime, rng: random.Random,
                  actor: Callable[[str], Actor]) -> dict[str, int]:
    """企业吹哨·部门报到 and 政企双向评价: the enterprises with their officers (the town's duty officer),
    about a call a week, each department answering on its own clock, and both sides rating."""
    from shuzhi.services.window import whistle, whistle_ratings

    towns = district.towns
    ents = []
    for i, (name, town_i, subject, depts) in enumerate(ENTERPRISES):
        town = towns[town_i % len(towns)]
        code = "91500111" + "".join(_CREDIT_ALPHABET[(i * 7 + k * 3) % len(_CREDIT_ALPHABET)] for k in range(10))
        whistle.save_enterprise(uow(), code, name, town["code"], f"duty.{town['key']}", SYSTEM)
        ents.append((code, f"duty.{town['key']}", subject, [f"D500111-{d}" for d in depts]))
    counts = {"whistles": 0, "whistles_answered": 0, "two_way_ratings": 0}
    day = start
    while day < now - timedelta(days=1):
        day += timedelta(days=rng.randint(4, 9))
        if day.weekday() >= 5:
            continue
        at = day.replace(hour=2 + rng.randint(0, 5), minute=rng.randint(0, 59))
        if at >= now:
            break
        code, officer, subject, depts = rng.choice(ents)
        out = whistle.blow(uow(), code, subject, f"{subject}，请相关部门协调解决。", depts, rng.choice([3, 5]),
                           actor(officer), now=at)
        counts["whistles"] += 1
        ends = []
        with uow() as u:
            ev = u.session.scalar(select(Event).where(Event.number == out.number))
            assert ev is not None
            tasks = [(x.id, x.unit_id, x.handle_due_at or at + timedelta(days=3)) for x in ev.tasks]
        for task_id, unit_id, due in tasks:
            handler = _handler(uow, unit_id)
            accept_at = at + timedelta(hours=rng.uniform(0.2, 4))
            done_at = accept_at + (due - at) * rng.uniform(0.2, 1.1)
            if done_at >= now:
                continue
            task_handling.accept_task(uow(), out.number, task_id, c.OptionalReason(), handler, now=accept_at)
            task_handling.report_back(uow(), out.number, task_id, c.ReportBack(result="已现场对接企业，问题已答复"),
                                      handler, now=done_at)
            ends.append(done_at)
            rated_at = done_at + timedelta(hours=rng.uniform(1, 24))
            if rated_at < now and rng.random() < 0.8:
                lv = "very_satisfied" if rng.random() < 0.7 else "satisfied" if rng.random() < 0.9 \
                    else "basically_satisfied"
                whistle_ratings.rate_enterprise(uow(), out.number, {"levels": dict.fromkeys(
                    ("overall", "cooperation", "materials", "integrity"), lv)}, handler, now=rated_at)
                counts["two_way_ratings"] += 1
        if len(ends) < len(tasks):
            continue
        counts["whistles_answered"] += 1
        rated_at = max(ends) + timedelta(hours=rng.uniform(2, 48))
        if rated_at >= now or rng.random() > 0.85:
            continue
        r = rng.random()
        lv = "very_satisfied" if r < 0.75 else "satisfied" if r < 0.93 else "basically_satisfied" if r < 0.97 \
            else "dissatisfied"
        rated = whistle_ratings.rate_handling(uow(), out.number, {
            "levels": dict.fromkeys(("overall", "response", "effectiveness", "attitude"), lv),
            "comment": "答复了但问题还没有解决" if lv == "dissatisfied" else ""}, actor(officer), now=rated_at)
        counts["two_way_ratings"] += 1
        if rated.verification_id is not None:  # an enterprise's 差评 is verified like a service one
            step = rated_at
            walk: list[tuple[str, dict[str, Any]]] = [("call_back", {"callback_note": "已回访企业负责人"}),
                                 ("classify_real", {"note": "经核实属实"}),
                                 ("rectify", {"rectification": "牵头部门制定整改方案，限期解决"}),
                                 ("reply", {"reply": "已向企业反馈整改情况"}),
                                 ("close", {"outcome": "企业认可", "rater_satisfied": True})]
            for action, text in walk:
                step = step + timedelta(hours=rng.uniform(2, 40))
                if step >= now:
                    break
                ratings.act(uow(), rated.verification_id, action, text, SYSTEM, now=step)
    return counts


def _one_case(uow: Uow, rng: random.Random, w: ServiceWindow, at: datetime, now: datetime,
              bundles: list[dict[str, Any]], singles: list[dict[str, Any]], actor: Callable[[str], Actor],
              clerk_for: Callable[[str], str], counts: dict[str, int]) -> None:
    clerk = actor(clerk_for(w.code))
    pid, phone = _id_number(rng), f"13{rng.randint(100000000, 999999999)}"
    use_bundle = rng.random() < 0.45
    mode = "nearest" if w.kind != "district_hall" else "window"
    if w.kind == "village" and rng.random() < 0.5:
        mode = "proxy"
    body: dict[str, Any] = {}
    if use_bundle:
        b = rng.choice(bundles)
        answers = {q["key"]: rng.choice(["yes", "no"]) for q in b["questions"]}
        body = {"bundle_code": b["code"], "answers": answers, "form": _form_for(b, rng, pid, phone)}
        codes = [it["matter_code"] for it in b["items"]]
    else:
        allowed = [d for d in singles if w.kind in d["places"]] or singles
        d = rng.choice(allowed)
        body = {"matter_code": d["code"]}
        codes = [d["code"]]
    deferred = rng.random() < 0.15
    materials = {code: {"id": "provided", "form": "provided", "proof": "deferred" if deferred else "provided"}
                 for code in codes}
    proxy = cases.Proxy("代办员" + pid[-3:], _id_number(rng), None, "村便民代办员") if mode == "proxy" else None
    cmd = cases.Apply(window_code=w.code, applicant=cases.Applicant("person", _name(rng), pid, phone),
                      mode=mode, proxy=proxy, materials=materials, **body)
    try:
        receipt = cases.apply(uow(), cmd, clerk, now=at)
    except ServiceError:
        return  # a bundle whose answers skip every matter, or a matter this point may not accept
    counts["cases"] += 1
    number = receipt.number
    t = at
    for _stage in range(4):
        with uow() as u:
            ev = u.session.scalar(select(Event).where(Event.number == number))
            assert ev is not None
            open_tasks = [(x.id, x.unit_id, x.handle_due_at or t + timedelta(days=1)) for x in u.session.scalars(
                select(Task).where(Task.event_id == ev.id, Task.state == "dispatched"))]
        if not open_tasks:
            break
        stage_end = t
        for task_id, unit_id, due in open_tasks:
            handler = _handler(uow, unit_id)
            accept_at = t + timedelta(hours=rng.uniform(0.3, 6))
            done_at = accept_at + (due - t) * rng.uniform(0.2, 1.15)
            if done_at >= now:
                continue  # still being worked on today
            task_handling.accept_task(uow(), number, task_id, c.OptionalReason(), handler, now=accept_at)
            task_handling.report_back(uow(), number, task_id, c.ReportBack(result="已办结，结果已送达窗口"), handler,
                                 now=done_at)
            stage_end = max(stage_end, done_at)
        t = stage_end
    view = case_views.get_case(uow(), number, SYSTEM)
    if view.state == "awaiting_materials":
        supply_at = t + timedelta(hours=rng.uniform(2, 48))
        if supply_at < now:
            for m in view.materials:
                if m["status"] == "deferred":
                    cases.supply_material(uow(), number, m["id"], clerk, now=supply_at)
            t = supply_at
            view = case_views.get_case(uow(), number, SYSTEM)
    if view.state != "completed":
        return
    counts["completed"] += 1
    rated_at = t + timedelta(hours=rng.uniform(1, 72))
    if rated_at >= now or rng.random() > 0.8:
        return
    _rate(uow, rng, number, clerk, rated_at, now, counts)


def _rate(uow: Uow, rng: random.Random, number: str, clerk: Actor, at: datetime, now: datetime,
          counts: dict[str, int]) -> None:
    r = rng.random()
    level = "very_satisfied" if r < 0.82 else "satisfied" if r < 0.95 else "basically_satisfied" if r < 0.985 \
        else rng.choice(["dissatisfied", "very_dissatisfied"])
    body = {"channel": "window", "named": rng.random() < 0.6,
            "levels": {"overall": level, "efficiency": level, "service_level": level, "attitude": level},
            "comment": "办理时间比承诺的长，来回跑了两次" if level.endswith("dissatisfied") else ""}
    out = ratings.rate_case(uow(), number, body, clerk, now=at)
    counts["ratings"] += 1
    if out.verification_id is None:
        return
    counts["bad"] += 1
    office = SYSTEM
    step = at
    steps: list[tuple[str, dict[str, Any]]] = [("call_back", {"callback_note": "已电话回访，核实办理经过"}),
                         ("classify_real", {"note": "经核实属实"}),
                         ("rectify", {"rectification": "对窗口人员开展一次性告知培训，优化流转环节"}),
                         ("reply", {"reply": "已向评价人反馈整改情况"}),
                         ("close", {"outcome": "评价人认可", "rater_satisfied": True})]
    for action, text in steps:
        step = step + timedelta(hours=rng.uniform(2, 40))
        if step >= now:
            return
        ratings.act(uow(), out.verification_id, action, text, office, now=step)


_HANDLERS: dict[tuple[int, int], Actor] = {}


def _handler(uow: Uow, unit_id: int) -> Actor:
    """The department's first handler (cached per database and unit)."""
    from shuzhi.adapters.db.tables import Person

    key = (id(uow), unit_id)
    if key not in _HANDLERS:
        with uow() as u:
            code = u.session.scalar(select(Person.code).where(Person.unit_id == unit_id, Person.role == "handler")
                                    .order_by(Person.code).limit(1))
            _HANDLERS[key] = resolve_actor(u.session, code) if code else SYSTEM
    return _HANDLERS[key]


_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2)))
