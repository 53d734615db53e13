"""Demo ledgers (台账) with history, written through the services as the offices would have:

* the reform office's ledger of the year's reform projects (≥ 60 items, custom columns, some split
  down to towns), reconciled monthly — most reports on time, some late or missed, a few stalled;
* a rectification list from an audit and an inspection (问题清单), closed off with evidence by the
  district centre, one reopened;
* a year's people's-congress suggestions and CPPCC proposals (建议提案) with replies and satisfaction;
* on the rectification list, the history's most frequent kind of case at one place (the evaluation's
  hot spot) made one problem, linked to every one of its events.

The ledger clocks sweep day by day through the history, so reminders, missing reports, urges and
escalations land when they fell due.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from shuzhi.adapters.db.tables import Area, Event, EventClass, Person, Unit
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.domain.ledgers import (
    ItemAction,
    LedgerKind,
    ProblemSource,
    ProposalKind,
    Satisfaction,
    Schedule,
    Visibility,
)
from shuzhi.domain.permissions import LEDGER_REPORT, permissions_of
from shuzhi.services.actors import Actor, resolve_actor
from shuzhi.services.errors import Conflict, ServiceError
from shuzhi.services.ledgers import books, clocks, event_links, items, progress
from shuzhi.services.unit_of_work import UnitOfWork

PDF = b"%PDF-1.4\n% demo evidence\n"

_THEMES = [
    ("经济体制", "深化国有企业改革，推进{x}"), ("经济体制", "优化营商环境，推行{x}"),
    ("经济体制", "深化投融资体制改革，探索{x}"), ("民生保障", "推进{x}“一件事一次办”改革"),
    ("民生保障", "深化医疗卫生体制改革，建设{x}"), ("民生保障", "推进教育评价改革，试点{x}"),
    ("生态文明", "推进河长制林长制改革，落实{x}"), ("生态文明", "深化生态环境保护督察整改，推进{x}"),
    ("社会治理", "深化镇街综合行政执法改革，开展{x}"), ("社会治理", "推进数字化城市运行和治理中心建设，完善{x}"),
    ("党的建设", "深化干部人事制度改革，健全{x}"), ("社会治理", "推进网格化治理改革，落实{x}"),
]
_OBJECTS = ["“三单三库两池”项目生成机制", "标准化厂房“拎包入驻”", "“首问责任制”“限时办结制”", "县域医共体",
            "集团化办学", "水资源刚性约束制度", "“一中心四板块一网格”", "“141”基层智治体系", "网格员专职化",
            "“平急两用”公共基础设施", "城市更新片区统筹", "农村集体经营性建设用地入市", "政务服务“川渝通办”",
            "企业开办全程网办", "工程建设项目审批提速", "“八张报表”“八张问题清单”闭环管理"]
_LEADERS = ["徐晓勇", "何建国", "周丽", "罗明安", "谭世伟", "袁果"]
_AUDIT = [("audit", "区级财政资金拨付不及时，{x}专项资金结存较大"), ("audit", "部分项目未批先建，{x}程序不规范"),
          ("audit", "政府采购执行不严格，{x}存在化整为零"), ("inspection", "落实意识形态工作责任制不到位，{x}"),
          ("inspection", "基层减负不彻底，{x}多头填报"), ("supervision", "安全生产隐患整改不闭环，{x}"),
          ("supervision", "河道“清四乱”不彻底，{x}反弹")]
_SUGGEST = ["关于加快{x}建设的建议", "关于优化{x}的建议", "关于解决{x}停车难问题的建议", "关于完善{x}养老服务的提案",
            "关于推进{x}垃圾分类的提案", "关于加强{x}学校周边交通安全的建议", "关于提升{x}农村供水保障的提案"]
_PLACES = ["龙岗街道", "棠香街道", "智凤街道", "龙水镇", "宝顶镇", "双路街道", "石马镇", "万古镇", "中敖镇", "高坪镇"]
_PROPOSERS = ["张建华代表", "李秀英代表", "王志强代表", "刘洪委员", "陈静委员", "杨帆委员", "赵立新代表", "黄晓燕委员"]


def _reporters(uow: UnitOfWork) -> dict[str, str]:
    """A person of each unit who reports on its items (the first with the permission)."""
    with uow:
        out: dict[str, str] = {}
        for code, unit_code, role in uow.session.execute(
                select(Person.code, Unit.code, Person.role).join(Unit, Unit.id == Person.unit_id)
                .where(Person.active.is_(True)).order_by(Person.id)):
            if unit_code not in out and LEDGER_REPORT in permissions_of(role):
                out[unit_code] = code
        return out


class _Seeder:
    def __init__(self, uow: Callable[[], UnitOfWork], now: datetime, seed: int) -> None:
        self.uow = uow
        self.now = now
        self.rng = random.Random(seed * 4243)
        self.people = _reporters(uow())
        self.actors: dict[str, Actor] = {}
        self.failures: list[str] = []

    def actor(self, code: str) -> Actor:
        if code not in self.actors:
            with self.uow() as u:
                self.actors[code] = resolve_actor(u.session, code)
        return self.actors[code]

    def of(self, unit_code: str) -> Actor:
        return self.actor(self.people[unit_code])

    def safely(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except ServiceError as exc:
            self.failures.append(f"{what}: {exc.message}")
            return None


def seed_ledgers(uow: Callable[[], UnitOfWork], now: datetime, seed: int = 1, *, start_days: int = 150) -> list[str]:
    """Create the three demo ledgers with ``start_days`` of history up to ``now``; returns failures."""
    sd = _Seeder(uow, now, seed)
    rng = sd.rng
    start = now - timedelta(days=start_days)
    year = now.astimezone(SHANGHAI).year
    chief = sd.actor("dispatcher.district1")
    units = {u: u for u in sd.people}
    departments = [u for u in units if u.startswith("D500111-")][:14]
    towns = [u for u in units if u.startswith("C500111") and len(u) == 10][:12]
    reform = books.save_ledger(uow(), books.LedgerCommand(
        code=f"GG{year}", name=f"{year}年区委改革办改革项目台账", kind=LedgerKind.REFORM, owner_unit="C500111",
        visibility=Visibility.PEERS, schedule=Schedule.MONTHLY, description="按期对账、定期晒账、到期销账",
        columns=[{"key": "category", "label": "改革类别", "type": "choice",
                  "choices": sorted({c for c, _ in _THEMES})},
                 {"key": "district_leader", "label": "牵头区领导", "type": "text"},
                 {"key": "pilot", "label": "是否试点", "type": "bool"},
                 {"key": "funds", "label": "资金（万元）", "type": "number"}]), chief, now=start)
    audit = books.save_ledger(uow(), books.LedgerCommand(
        code=f"WT{year}", name=f"{year}年巡视审计督察反馈问题整改清单", kind=LedgerKind.PROBLEM, owner_unit="C500111",
        visibility=Visibility.PEERS, schedule=Schedule.MONTHLY), chief, now=start)
    suggest = books.save_ledger(uow(), books.LedgerCommand(
        code=f"JY{year}", name=f"{year}年人大代表建议政协委员提案办理台账", kind=LedgerKind.SUGGESTION,
        owner_unit="C500111", visibility=Visibility.PRIVATE, schedule=Schedule.NONE), chief, now=start)
    plans: list[tuple[datetime, Callable[[], Any], str]] = []

    # --- the reform ledger: 64 items, 8 of them split down to towns ---
    for n in range(64):
        category, pattern = _THEMES[n % len(_THEMES)]
        title = pattern.format(x=_OBJECTS[(n * 7) % len(_OBJECTS)])
        lead = departments[n % len(departments)] if n % 4 else towns[n % len(towns)]
        created = start + timedelta(days=rng.randrange(0, 20), hours=rng.randrange(0, 8))
        limit = (created + timedelta(days=rng.choice([60, 90, 120, 150, 200, 240]))).astimezone(SHANGHAI).date()
        ms = [{"title": t, "due": (created + timedelta(days=d)).astimezone(SHANGHAI).date().isoformat()}
              for t, d in (("制定实施方案", 20), ("推进试点运行", 60), ("总结评估形成制度成果", 110))]
        cmd = items.ItemCommand(title=f"{title}", lead_unit=lead, leader=_LEADERS[n % len(_LEADERS)],
                                assist_units=[departments[(n + 3) % len(departments)]] if n % 3 == 0 else [],
                                person=None, milestones=ms, time_limit=limit.isoformat(),
                                fields={"category": category, "district_leader": _LEADERS[(n + 2) % len(_LEADERS)],
                                        "pilot": n % 5 == 0, "funds": rng.choice([0, 50, 120, 300, 800])})
        plans.append((created, _create(sd, reform.code, cmd, chief, created, rng, towns if n % 8 == 1 else []),
                      f"reform item {n}"))
    # --- the rectification list ---
    for n in range(24):
        src, pattern = _AUDIT[n % len(_AUDIT)]
        lead = departments[(n * 5) % len(departments)]
        created = start + timedelta(days=10 + rng.randrange(0, 15))
        cmd = items.ItemCommand(title=pattern.format(x=_PLACES[n % len(_PLACES)])[:60], lead_unit=lead,
                                source=ProblemSource(src), finding=pattern.format(x=_PLACES[n % len(_PLACES)]) + "。",
                                milestones=[{"title": "制定整改方案"}, {"title": "完成整改并建立长效机制"}],
                                time_limit=(created + timedelta(days=rng.choice([45, 60, 90, 120])))
                                .astimezone(SHANGHAI).date().isoformat(), leader=_LEADERS[n % len(_LEADERS)])
        plans.append((created, _create(sd, audit.code, cmd, chief, created, rng, []), f"problem {n}"))
    # --- suggestions and proposals over the year ---
    for n in range(60):
        proposer = _PROPOSERS[n % len(_PROPOSERS)]
        created = start + timedelta(days=rng.randrange(0, start_days - 20))
        lead = departments[(n * 3) % len(departments)]
        cmd = items.ItemCommand(title=_SUGGEST[n % len(_SUGGEST)].format(x=_PLACES[(n * 3) % len(_PLACES)]),
                                lead_unit=lead, proposer=proposer,
                                proposal_kind=ProposalKind.PROPOSAL if proposer.endswith("委员") else ProposalKind.SUGGESTION,
                                reply_due=(created + timedelta(days=90)).astimezone(SHANGHAI).date().isoformat(),
                                number=f"{'提' if proposer.endswith('委员') else '建'}{n + 1:03d}")
        plans.append((created, _create(sd, suggest.code, cmd, chief, created, rng, [], suggestion=True),
                      f"suggestion {n}"))
    # replay in time order, sweeping the clocks once a day (what falls after now is the future: dropped)
    queue = sorted(plans, key=lambda e: e[0])
    day = start
    while day < now:
        day = min(day + timedelta(days=1), now)
        while queue and queue[0][0] <= day:
            _when, fn, what = queue.pop(0)
            later = sd.safely(what, fn) or []
            queue = sorted(queue + [e for e in later if e[0] <= now], key=lambda e: e[0])
        clocks.sweep(uow, day)
    sd.safely("pattern problem", lambda: _pattern_problem(uow, audit.code, chief, now))
    return sd.failures


def _pattern_problem(uow: Callable[[], UnitOfWork], ledger: str, chief: Actor, now: datetime) -> None:
    """The history's most frequent handled case of one class in one town (the evaluation's hot spot),
    made one problem to rectify, led by the town's centre and linked to every one of its events."""
    with uow() as u:
        s = u.session
        towns = s.execute(select(Area.path, Area.name, Unit.code).join(Unit, Unit.area_id == Area.id)
                          .where(Area.level == "town", Unit.kind == "centre")).all()
        groups: dict[tuple[int, str], list[str]] = {}
        for class_id, path, number in s.execute(
                select(Event.event_class_id, Event.area_path, Event.number)
                .where(Event.mode != "notify", Event.state != "cancelled", Event.area_path.is_not(None),
                       Event.event_class_id.is_not(None)).order_by(Event.received_at)):
            town = next((t for t in towns if (path or "").startswith(t.path)), None)
            if town is not None and class_id is not None:
                groups.setdefault((int(class_id), str(town.path)), []).append(number)
        if not groups:
            return
        (class_id, town_path), numbers = max(groups.items(), key=lambda kv: (len(kv[1]), kv[0][1]))
        if len(numbers) < 2:
            return
        class_name = s.scalar(select(EventClass.name).where(EventClass.id == class_id)) or ""
        town = next(t for t in towns if t.path == town_path)
    limit = (now + timedelta(days=90)).astimezone(SHANGHAI).date().isoformat()
    event_links.problem_from_events(uow(), ledger, event_links.FromEventsCommand(
        title=f"{town.name}{class_name}反复发生整治"[:60], lead_unit=town.code, leader=_LEADERS[0], time_limit=limit,
        source=ProblemSource.SUPERVISION, event_numbers=numbers[:50],
        note="分析研判热点：同一镇街同类事件反复发生"), chief, now=now)


def _create(sd: _Seeder, ledger: str, cmd: items.ItemCommand, chief: Actor, at: datetime, rng: random.Random,
            towns: list[str], *, suggestion: bool = False) -> Callable[[], list[Any]]:
    """Create the item, then schedule its life: monthly reports (mostly on time, some late, some never),
    sub-items to towns, closing off with evidence, a reopen now and then."""

    def run() -> list[Any]:
        item = items.create_item(sd.uow(), ledger, cmd, chief, now=at)
        later: list[Any] = []
        lead = cmd.lead_unit
        if lead not in sd.people:
            return later
        behaviour = rng.random()
        for t in towns[:3] if towns else []:
            sub = items.ItemCommand(title=f"{cmd.title}（{t[-3:]}片区落实）", lead_unit=t,
                                    time_limit=cmd.time_limit, parent_id=item.id)
            later.append((at + timedelta(days=2), _sub(sd, ledger, sub, chief, at + timedelta(days=2), rng), "sub"))
        if suggestion:
            reply_at = at + timedelta(days=rng.randrange(20, 100))
            later.append((reply_at, _reply(sd, item.id, lead, reply_at, rng), "reply"))
            return later
        # monthly reports: a punctual unit reports a few days before month end; a lax one late or never
        month = at
        progress_now = 0
        for _ in range(7):
            month = (month.astimezone(SHANGHAI).replace(day=1) + timedelta(days=32)).replace(day=1)
            if behaviour < 0.12 and progress_now:  # stalled: stops reporting after the first month
                break
            when = month - timedelta(days=rng.randrange(2, 6)) if behaviour > 0.3 else \
                month + timedelta(days=rng.randrange(1, 6))
            progress_now = min(95, progress_now + rng.randrange(10, 35))
            later.append((when.astimezone(UTC), _report(sd, item.id, lead, when.astimezone(UTC), progress_now),
                          "report"))
        if behaviour > 0.55:
            done = at + timedelta(days=rng.randrange(40, 140))
            later.append((done, _close(sd, item.id, lead, done, reopen=behaviour > 0.96), "close"))
        return later

    return run


def _sub(sd: _Seeder, ledger: str, cmd: items.ItemCommand, chief: Actor, at: datetime,
         rng: random.Random) -> Callable[[], list[Any]]:
    def run() -> list[Any]:
        sub = items.create_item(sd.uow(), ledger, cmd, chief, now=at)
        when = at + timedelta(days=rng.randrange(10, 40))
        return [(when, _report(sd, sub.id, cmd.lead_unit, when, rng.randrange(20, 80)), "sub report")]

    return run


def _report(sd: _Seeder, item_id: int, lead: str, at: datetime, pct: int) -> Callable[[], None]:
    def run() -> None:
        # closed off (or suspended) meanwhile: nothing is owed any more
        with suppress(Conflict):
            progress.report_progress(sd.uow(), item_id, progress.ReportCommand(
                narrative=f"按计划推进，已完成阶段任务约{pct}%。", progress=pct), sd.of(lead), now=at)

    return run


def _close(sd: _Seeder, item_id: int, lead: str, at: datetime, *, reopen: bool) -> Callable[[], list[Any]]:
    def run() -> list[Any]:
        who = sd.of(lead)
        progress.add_attachment(sd.uow(), item_id, "evidence", "整改佐证.pdf", "application/pdf", PDF, who,
                                max_bytes=1 << 20, now=at)
        items.act(sd.uow(), item_id, items.ActionCommand(action=ItemAction.SUBMIT, reason="已完成，申请销号"), who, now=at)
        signer = sd.actor("dispatcher.district1")
        signed = at + timedelta(days=2)
        items.act(sd.uow(), item_id, items.ActionCommand(action=ItemAction.SIGN_OFF, reason="经核验，同意销号"), signer,
                  now=signed)
        if reopen:
            items.act(sd.uow(), item_id, items.ActionCommand(action=ItemAction.REOPEN, reason="回头看发现问题反弹"), signer,
                      now=signed + timedelta(days=15))
        return []

    return run


def _reply(sd: _Seeder, item_id: int, lead: str, at: datetime, rng: random.Random) -> Callable[[], None]:
    def run() -> None:
        who = sd.of(lead)
        progress.add_attachment(sd.uow(), item_id, "reply", "答复函.pdf", "application/pdf", PDF, who,
                                max_bytes=1 << 20, now=at)
        items.act(sd.uow(), item_id, items.ActionCommand(action=ItemAction.SUBMIT, reason="已书面答复代表委员"), who, now=at)
        items.act(sd.uow(), item_id, items.ActionCommand(
            action=ItemAction.SIGN_OFF, reason="代表委员已反馈意见",
            satisfaction=Satisfaction(rng.choice(["satisfied", "satisfied", "satisfied", "basically",
                                                   "dissatisfied"]))),
            sd.actor("dispatcher.district1"), now=at + timedelta(days=rng.randrange(3, 15)))

    return run
