"""The demo's towns get their structure (一中心四板块, issue #20): the four boards under each town centre,
a town leader in charge of each, posts held by named people (the board's own staff, and the town's
first grid worker as the safety board's grid liaison), and a duty list (履职清单) per board.

Boards carry no event classes: automatic dispatch keeps choosing the town centre as before, so the
replayed history is unchanged; the centre hands cases on to its boards by hand.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

from shuzhi.demo.district import DemoDistrict, mobile_number, person_name
from shuzhi.domain.town import DEFAULT_BOARDS, board_unit_code
from shuzhi.services import town
from shuzhi.services.actors import SYSTEM
from shuzhi.services.errors import ServiceError
from shuzhi.services.organisation import import_people
from shuzhi.services.unit_of_work import UnitOfWork

#: Posts of each board (板块+岗位), the first ones held by the board's own staff.
POSTS: dict[str, list[str]] = {
    "party_building": ["党建专干", "组织委员", "宣传统战专干"],
    "economy": ["招商引资专干", "企业服务专干", "农业农村专干"],
    "safety_law": ["综治专干", "应急管理专干", "司法调解员", "网格联络员"],
    "livelihood": ["社会救助专干", "就业社保专干", "卫生健康专干"],
}
#: Duty lists (乡镇履职清单), a few items each: the title and what it means in practice.
DUTIES: dict[str, list[tuple[str, str]]] = {
    "party_building": [("基层党组织建设", "村（社区）党组织规范化建设，每季度督导一次"),
                       ("党员教育管理", "组织党员在岗服务、志愿服务"),
                       ("意识形态工作", "舆情研判与正面宣传")],
    "economy": [("招商引资与项目服务", "重点项目专班跟踪，帮办代办"),
                ("企业诉求办理", "企业吹哨事项3个工作日内响应"),
                ("农业生产与粮食安全", "耕地保护、农时农事指导")],
    "safety_law": [("矛盾纠纷排查化解", "每月全面排查一次，重大纠纷24小时内上报"),
                   ("安全生产与应急管理", "隐患排查、汛期值守、应急处置"),
                   ("社会治安防控", "重点人员服务管理、群防群治"),
                   ("法治宣传与公共法律服务", "一村（社区）一法律顾问")],
    "livelihood": [("社会救助", "低保、特困、临时救助审核与走访"),
                   ("就业与社会保障", "就业帮扶、城乡居民养老保险"),
                   ("卫生健康与养老服务", "家庭医生签约、居家养老服务")],
}
STAFF_PER_BOARD = 2


def board_staff_code(town_key: str, board_key: str, n: int) -> str:
    return f"board.{town_key}.{board_key}{n}"


def seed_town_boards(uow: Callable[[], UnitOfWork], district: DemoDistrict, seed: int) -> None:
    """Every town: its boards, their staff (imported like all people), leaders in charge, posts, duties."""
    rng = random.Random(seed * 1009 + 20)  # its own draws: the district's names and phones stay as they were
    for t in district.towns:
        town.create_default_boards(uow(), SYSTEM, t["code"])
    people = [{"code": board_staff_code(t["key"], key, n), "name": person_name(rng), "phone": mobile_number(rng),
               "unit_code": board_unit_code(t["code"], key), "role": "handler"}
              for t in district.towns for key, _ in DEFAULT_BOARDS for n in range(1, STAFF_PER_BOARD + 1)]
    report = import_people(uow(), people)
    if report.errors:
        raise RuntimeError(f"demo board staff: {report.errors[:3]}")
    first_grid_worker: dict[str, str | None] = {}
    for g in district.grids:
        first_grid_worker.setdefault(g["town"], g.get("worker"))
    for t in district.towns:
        for key, _ in DEFAULT_BOARDS:
            posts = []
            for i, name in enumerate(POSTS[key]):
                holder = board_staff_code(t["key"], key, i + 1) if i < STAFF_PER_BOARD else None
                if name == "网格联络员":
                    holder = first_grid_worker.get(t["code"])
                posts.append(town.PostIn(name=name, person_code=holder))
            body = town.BoardIn(leader_code=f"leader.{t['key']}", posts=posts,
                                duties=[town.DutyIn(title=a, detail=b) for a, b in DUTIES[key]])
            try:
                town.save_board(uow(), SYSTEM, t["code"], key, body)
            except ServiceError as exc:  # a demo that cannot build its towns should say so, not half-build
                raise RuntimeError(f"demo board {t['code']} {key}: {exc}") from exc


# --- the grid (一网格): teams "1+3+N" and duty lists "6+1" ----------------------------------------------

#: The city's recurring duties per role (role, title, frequency, where/which objects, done by).
GRID_DUTIES: list[tuple[str, str, str, str, str]] = [
    ("full_time", "日常巡查", "daily", "网格内主次干道、背街小巷", "patrol"),
    ("full_time", "安全隐患排查", "weekly", "九小场所、出租屋、电动车充电点", "patrol"),
    ("full_time", "矛盾纠纷排查", "weekly", "楼栋、院落、商户", "visit"),
    ("full_time", "重点人群走访", "weekly", "独居老人、困难家庭、特殊人群", "visit"),
    ("full_time", "基础信息采集更新", "monthly", "人、地、事、物、组织", "visit"),
    ("full_time", "政策宣传", "monthly", "小区、商户、村组", "either"),
    ("full_time", "上级交办事项", "monthly", "镇街、村社区交办", "either"),
    ("part_time", "楼栋巡查", "weekly", "所联系楼栋", "either"),
    ("grid_leader", "网格队伍例会", "monthly", "村（社区）", "visit"),
    ("instructor", "指导网格工作", "monthly", "所联系网格", "visit"),
]


def seed_grid_teams(uow: Callable[[], UnitOfWork], district: DemoDistrict, now: datetime) -> int:
    """Every grid's team: its own grid worker full-time (his primary membership), the next grid's worker of
    the village part-time, the village's staff member as 网格长 of all its grids, the town leader as
    网格指导员; the city's duty lists; the due items of the current day, week and month. Bulk: a few
    statements for 2,000 grids. Returns how many items were made."""
    from shuzhi.services import grid_teams

    grid_teams.put_duties(uow(), SYSTEM, grid_teams.DutiesIn(duties=[
        grid_teams.DutyIn(role=r, title=ti, frequency=f, place=pl, done_by=by)  # type: ignore[arg-type]
        for r, ti, f, pl, by in GRID_DUTIES]))
    by_village: dict[str, list[dict[str, str]]] = {}
    for g in district.grids:
        by_village.setdefault(g["village"], []).append(g)
    towns = {t["code"]: t["key"] for t in district.towns}
    rows: list[dict[str, str]] = [{"grid_code": g["code"], "person_code": g["worker"], "role": "full_time"}
                                  for g in district.grids if g.get("worker")]
    for village, gs in by_village.items():
        for i, g in enumerate(gs):
            rows.append({"grid_code": g["code"], "person_code": f"village.{village}", "role": "grid_leader"})
            if len(gs) > 1 and (other := gs[(i + 1) % len(gs)].get("worker")):
                rows.append({"grid_code": g["code"], "person_code": other, "role": "part_time"})
            rows.append({"grid_code": g["code"], "person_code": f"leader.{towns[g['town']]}", "role": "instructor"})
    grid_teams.import_teams(uow(), SYSTEM, rows)
    return grid_teams.generate_due_items(uow(), now)
