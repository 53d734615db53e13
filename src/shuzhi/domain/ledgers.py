"""Ledgers (台账): the work that is not an event — reform projects, key tasks, problem lists, suggestions.

Sources: Wanzhou's reform office keeps "四本台账" (reform projects, pilots, documents, recognitions) with
按期对账、定期晒账、到期销账; Dazu's "四合一" list gives every task its task, responsibility, measures and
time limit (任务、责任、措施、时限), rectifies problems found by 巡视、审计、督察, and answers 258 people's-
congress suggestions and 232 CPPCC proposals a year (seeds 001 and 003).

Everything here is pure: the kinds and typed custom columns of a ledger (data, checked when saved),
the item's life as an explicit transition table, progress roll-up down the levels, the five-colour
state and the bulletin's ranking. The reporting schedule and the time limits' clocks on the working
calendar (按期对账) are :mod:`shuzhi.domain.ledger_clocks`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from shuzhi.domain.periods import Period, PeriodKind, of_kind

# --- what a ledger is ------------------------------------------------------------------------------


class LedgerKind(StrEnum):
    REFORM = "reform"  # 改革项目
    PILOT = "pilot"  # 改革试点
    KEY_TASK = "key_task"  # 重点任务（"四合一"清单）
    PROBLEM = "problem"  # 问题清单（巡视/审计/督察反馈问题整改）
    SUGGESTION = "suggestion"  # 人大代表建议、政协委员提案
    CUSTOM = "custom"  # 管理员自定义


class ItemKind(StrEnum):
    """What an item carries beyond the "四合一": a plain task, a problem to rectify, a suggestion."""

    TASK = "task"
    PROBLEM = "problem"
    SUGGESTION = "suggestion"


#: The item kind each ledger kind holds.
ITEM_KIND_OF: dict[LedgerKind, ItemKind] = {
    LedgerKind.REFORM: ItemKind.TASK, LedgerKind.PILOT: ItemKind.TASK, LedgerKind.KEY_TASK: ItemKind.TASK,
    LedgerKind.CUSTOM: ItemKind.TASK, LedgerKind.PROBLEM: ItemKind.PROBLEM,
    LedgerKind.SUGGESTION: ItemKind.SUGGESTION,
}


class Visibility(StrEnum):
    """Who sees a ledger's items besides its owner and the units above it."""

    PRIVATE = "private"  # each responsible unit sees its own items only
    PEERS = "peers"  # 晒账: every unit with an item in the ledger sees all of them and the bulletin
    PUBLIC = "public"  # every signed-in person


class Schedule(StrEnum):
    """How often responsible units reconcile (对账): report progress on each open item."""

    NONE = "none"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class ProblemSource(StrEnum):
    INSPECTION = "inspection"  # 巡视巡察
    AUDIT = "audit"  # 审计
    SUPERVISION = "supervision"  # 督察督查
    OTHER = "other"


class ProposalKind(StrEnum):
    SUGGESTION = "suggestion"  # 人大代表建议
    PROPOSAL = "proposal"  # 政协委员提案


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY = "basically"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"
    BOOL = "bool"


_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_COLUMNS = 80


class LedgerError(ValueError):
    """A ledger definition or a value that breaks a rule; ``field`` names where (JSON path style)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Column:
    """A custom column of a ledger beyond the standard "四合一" (e.g. 改革类别, 牵头区领导, 问题类型)."""

    key: str
    label: str
    type: FieldType = FieldType.TEXT
    required: bool = False
    choices: tuple[str, ...] = ()

    def to_mapping(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "type": self.type.value, "required": self.required,
                "choices": list(self.choices)}


def parse_columns(data: Any) -> list[Column]:
    """Read a ledger's custom columns, refusing bad keys, duplicates and choice columns without choices."""
    if not isinstance(data, list):
        raise LedgerError("columns must be a list", "columns")
    if len(data) > MAX_COLUMNS:
        raise LedgerError(f"at most {MAX_COLUMNS} custom columns", "columns")
    out: list[Column] = []
    seen_keys: set[str] = set()
    seen_labels: set[str] = set()
    for i, raw in enumerate(data):
        where = f"columns[{i}]"
        if not isinstance(raw, Mapping):
            raise LedgerError("each column is an object with key, label and type", where)
        key, label = str(raw.get("key", "")), str(raw.get("label", "")).strip()
        if not _KEY.fullmatch(key):
            raise LedgerError(f"key {key!r}: lower-case letters, digits and _ (start with a letter)", where + ".key")
        if not label or len(label) > 60:
            raise LedgerError("label: 1 to 60 characters", where + ".label")
        if key in seen_keys or label in seen_labels:
            raise LedgerError(f"column {key!r}/{label!r} appears twice", where)
        try:
            ftype = FieldType(str(raw.get("type", "text")))
        except ValueError:
            raise LedgerError(f"type: one of {', '.join(t.value for t in FieldType)}", where + ".type") from None
        choices = raw.get("choices") or []
        if not isinstance(choices, list) or any(not isinstance(c, str) or not c.strip() for c in choices):
            raise LedgerError("choices: a list of non-empty texts", where + ".choices")
        if ftype is FieldType.CHOICE and not choices:
            raise LedgerError("a choice column needs its choices", where + ".choices")
        seen_keys.add(key)
        seen_labels.add(label)
        out.append(Column(key, label, ftype, bool(raw.get("required", False)), tuple(c.strip() for c in choices)))
    return out


def coerce_field(col: Column, value: Any) -> Any:
    """A custom value as stored (text, number, ISO date, one of the choices, bool); None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if col.required:
            raise LedgerError(f"{col.label}：必填", col.key)
        return None
    if col.type is FieldType.TEXT:
        text = str(value).strip()
        if len(text) > 2000:
            raise LedgerError(f"{col.label}：不超过2000字", col.key)
        return text
    if col.type is FieldType.NUMBER:
        if isinstance(value, bool):
            raise LedgerError(f"{col.label}：应为数字", col.key)
        try:
            number = float(str(value).replace(",", "").replace("，", "").strip())
        except ValueError:
            raise LedgerError(f"{col.label}：“{value}”不是数字", col.key) from None
        return int(number) if number.is_integer() else number
    if col.type is FieldType.DATE:
        if isinstance(value, date):
            return value.isoformat()
        parsed = parse_loose_date(str(value))
        if parsed is None:
            raise LedgerError(f"{col.label}：“{value}”不是可识别的日期", col.key)
        return parsed.isoformat()
    if col.type is FieldType.CHOICE:
        text = str(value).strip()
        if text not in col.choices:
            raise LedgerError(f"{col.label}：“{text}”不在可选项（{'、'.join(col.choices)}）中", col.key)
        return text
    text = str(value).strip().lower()
    if text in {"true", "1", "是", "yes", "y", "√"}:
        return True
    if text in {"false", "0", "否", "no", "n", "×"}:
        return False
    raise LedgerError(f"{col.label}：请填“是”或“否”", col.key)


def coerce_fields(columns: Sequence[Column], values: Mapping[str, Any]) -> dict[str, Any]:
    """Every custom value of an item checked against its column; unknown keys are refused."""
    by_key = {c.key: c for c in columns}
    unknown = sorted(set(values) - set(by_key))
    if unknown:
        raise LedgerError(f"unknown column {unknown[0]!r}", f"fields.{unknown[0]}")
    out: dict[str, Any] = {}
    for col in columns:
        try:
            v = coerce_field(col, values.get(col.key))
        except LedgerError as exc:
            raise LedgerError(str(exc), f"fields.{col.key}") from None
        if v is not None:
            out[col.key] = v
    return out


# --- free-form dates, as government spreadsheets write them ---------------------------------------

_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
              "十": 10}
_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_YM = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(底|末|前|中旬|上旬|下旬)?")
_Y_END = re.compile(r"(\d{4})\s*年\s*(底|末|年底|年末)")
_Y_Q = re.compile(r"(\d{4})\s*年?\s*(?:第)?\s*([一二三四1-4])\s*季度")
_Y_H = re.compile(r"(\d{4})\s*年?\s*(上|下)半年")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


def _cn_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    return _CN_DIGITS.get(text, 0)


def _month_end(year: int, month: int) -> date:
    if not 1 <= month <= 12:
        raise ValueError(f"month {month}")
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def parse_loose_date(text: str) -> date | None:
    """A date as offices write it: 2024-06-30, 2024/6/30, 2024.6.30, 2024年6月30日, 20240630,
    2024年6月(底) → the month's last day, 2024年6月中旬 → the 20th, 2024年底 → 31 Dec,
    2024年第三季度 → the quarter's last day, 2024年上半年 → 30 June; an Excel serial day number
    (45473) too. ``None`` when it is none of these (the importer then names the row and column)."""
    raw = text.strip().replace(" ", "")
    if not raw:
        return None
    if "T" in raw and raw[:4].isdigit():
        raw = raw.split("T", 1)[0]
    try:
        if m := _YMD.fullmatch(raw):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _COMPACT.fullmatch(raw):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _Y_END.fullmatch(raw):
            return date(int(m[1]), 12, 31)
        if m := _Y_Q.fullmatch(raw):
            q = _cn_number(m[2])
            return _month_end(int(m[1]), q * 3)
        if m := _Y_H.fullmatch(raw):
            return date(int(m[1]), 6, 30) if m[2] == "上" else date(int(m[1]), 12, 31)
        if m := _YM.fullmatch(raw):
            year, month, tail = int(m[1]), int(m[2]), m[3]
            if tail == "上旬":
                return date(year, month, 10)
            if tail == "中旬":
                return date(year, month, 20)
            return _month_end(year, month)
        if raw.isdigit() and 20000 < int(raw) < 80000:  # an Excel serial day (1900 system)
            return date(1899, 12, 30) + timedelta(days=int(raw))
    except ValueError:
        return None
    return None


#: A time limit further ahead than this is a typing error (2062 for 2026), not a plan: refused.
MAX_YEARS_AHEAD = 5


def limit_problem(limit: date, today: date) -> str | None:
    """Why a time limit cannot be used, in Chinese, or None."""
    if limit.year > today.year + MAX_YEARS_AHEAD:
        return f"完成时限{limit.isoformat()}超过{MAX_YEARS_AHEAD}年，请核对"
    if limit.year < 2000:
        return f"完成时限{limit.isoformat()}早于2000年，请核对"
    return None


# --- the item's life: an explicit transition table -------------------------------------------------


class ItemState(StrEnum):
    OPEN = "open"  # 未启动
    IN_PROGRESS = "in_progress"  # 推进中
    PENDING_SIGN_OFF = "pending_sign_off"  # 已申请销号，待审核
    CLOSED = "closed"  # 已销账（整改销号 / 办结）
    SUSPENDED = "suspended"  # 暂缓（经批准）
    CANCELLED = "cancelled"  # 已撤销


class ItemAction(StrEnum):
    START = "start"  # 启动
    REPORT = "report"  # 报送进展
    SUBMIT = "submit"  # 申请销号 / 提交答复（附佐证材料）
    SIGN_OFF = "sign_off"  # 审核销号（销账机关）
    REJECT = "reject"  # 退回补充
    REOPEN = "reopen"  # 重新打开（计入"反弹"）
    SUSPEND = "suspend"  # 暂缓
    RESUME = "resume"  # 恢复推进
    CANCEL = "cancel"  # 撤销


S = ItemState
A = ItemAction
_CANCELLABLE = (S.OPEN, S.IN_PROGRESS, S.PENDING_SIGN_OFF, S.SUSPENDED)

ITEM_TRANSITIONS: dict[tuple[ItemState, ItemAction], ItemState] = {
    (S.OPEN, A.START): S.IN_PROGRESS,
    # the first progress report starts an item nobody started explicitly
    (S.OPEN, A.REPORT): S.IN_PROGRESS,
    (S.IN_PROGRESS, A.REPORT): S.IN_PROGRESS,
    # the responsible unit asks to close it off, with evidence; a quick item may be done at once
    (S.OPEN, A.SUBMIT): S.PENDING_SIGN_OFF,
    (S.IN_PROGRESS, A.SUBMIT): S.PENDING_SIGN_OFF,
    # 到期销账: only the sign-off authority closes an item; it may send it back instead
    (S.PENDING_SIGN_OFF, A.SIGN_OFF): S.CLOSED,
    (S.PENDING_SIGN_OFF, A.REJECT): S.IN_PROGRESS,
    # a closed item found not really done (反弹回潮) is reopened — and counted
    (S.CLOSED, A.REOPEN): S.IN_PROGRESS,
    (S.OPEN, A.SUSPEND): S.SUSPENDED,
    (S.IN_PROGRESS, A.SUSPEND): S.SUSPENDED,
    (S.SUSPENDED, A.RESUME): S.IN_PROGRESS,
    **{(s, A.CANCEL): S.CANCELLED for s in _CANCELLABLE},
}

#: Items that still owe work: they are reconciled, can be overdue and count in the active view.
ACTIVE_STATES = frozenset({S.OPEN, S.IN_PROGRESS, S.PENDING_SIGN_OFF})
#: Items whose clock runs (a suspended item's deadline waits; a pending one is with the authority).
RUNNING_STATES = frozenset({S.OPEN, S.IN_PROGRESS})
ENDED_STATES = frozenset({S.CLOSED, S.CANCELLED})


class IllegalItemTransition(Exception):
    def __init__(self, state: ItemState, action: ItemAction) -> None:
        self.state = state
        self.action = action
        super().__init__(f"cannot {action.value}: the item is {state.value}")


def next_item_state(state: ItemState, action: ItemAction) -> ItemState:
    """The state an item reaches by ``action``, or :class:`IllegalItemTransition`."""
    try:
        return ITEM_TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalItemTransition(state, action) from None


def allowed_item_actions(state: ItemState) -> list[ItemAction]:
    return [a for (s, a) in ITEM_TRANSITIONS if s is state]


#: Actions only the sign-off authority (or the ledger's owner) may take.
AUTHORITY_ACTIONS = frozenset({A.SIGN_OFF, A.REJECT, A.REOPEN, A.SUSPEND, A.RESUME, A.CANCEL})
#: Actions of the responsible unit.
RESPONSIBLE_ACTIONS = frozenset({A.START, A.REPORT, A.SUBMIT})


# --- milestones and progress -----------------------------------------------------------------------


@dataclass(frozen=True)
class Milestone:
    """One measure of the "四合一" list, with its own date (措施 + 节点时间)."""

    title: str
    due: date | None
    done_on: date | None = None

    def to_mapping(self) -> dict[str, Any]:
        return {"title": self.title, "due": self.due.isoformat() if self.due else None,
                "done_on": self.done_on.isoformat() if self.done_on else None}


def parse_milestones(data: Any) -> list[Milestone]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise LedgerError("milestones must be a list", "milestones")
    out = []
    for i, raw in enumerate(data):
        if not isinstance(raw, Mapping) or not str(raw.get("title", "")).strip():
            raise LedgerError("each milestone needs a title", f"milestones[{i}].title")
        dates: list[date | None] = []
        for key in ("due", "done_on"):
            v = raw.get(key)
            if v in (None, ""):
                dates.append(None)
                continue
            d = v if isinstance(v, date) else parse_loose_date(str(v))
            if d is None:
                raise LedgerError(f"“{v}”不是可识别的日期", f"milestones[{i}].{key}")
            dates.append(d)
        out.append(Milestone(str(raw["title"]).strip()[:300], dates[0], dates[1]))
    return out


def milestone_progress(milestones: Sequence[Milestone]) -> int | None:
    """Percentage of milestones done; None without milestones."""
    if not milestones:
        return None
    return round(100 * sum(1 for m in milestones if m.done_on is not None) / len(milestones))


def rollup_progress(own: int, children: Sequence[tuple[int, bool]]) -> int:
    """An item's progress from its sub-items (逐级汇总): the mean of the live children's progress,
    a cancelled child (``False``) left out; an item without live children keeps its own figure."""
    live = [p for p, alive in children if alive]
    if not live:
        return max(0, min(100, own))
    return round(sum(live) / len(live))


# --- five colours, stalled items and the bulletin ---------------------------------------------------


class Colour(StrEnum):
    GREEN = "green"  # 按计划推进
    BLUE = "blue"  # 已销账
    YELLOW = "yellow"  # 临期（7天内到期）或进度滞后
    ORANGE = "orange"  # 停滞：超过两个对账周期无进展
    RED = "red"  # 超期未完成


#: Days without any progress after which an active item counts as stalled (两个对账周期).
STALL_DAYS = {Schedule.WEEKLY: 14, Schedule.MONTHLY: 62, Schedule.QUARTERLY: 184, Schedule.NONE: 60}


@dataclass(frozen=True)
class ItemFacts:
    state: ItemState
    time_limit: date | None
    progress: int
    created_on: date
    last_progress_on: date | None


def is_overdue(facts: ItemFacts, today: date) -> bool:
    return facts.state in ACTIVE_STATES and facts.time_limit is not None and facts.time_limit < today


def is_stalled(facts: ItemFacts, today: date, schedule: Schedule) -> bool:
    if facts.state not in RUNNING_STATES:
        return False
    last = facts.last_progress_on or facts.created_on
    return (today - last).days > STALL_DAYS[schedule]


def colour(facts: ItemFacts, today: date, schedule: Schedule) -> Colour | None:
    """The item's colour on the cockpit's five-colour board; None for cancelled items (out of view).

    Red beats orange beats yellow: an overdue item is red whether or not it is also stalled. Yellow is
    "due within 7 days" or "behind plan" — progress more than 20 points under the share of the time
    already used."""
    if facts.state is ItemState.CANCELLED:
        return None
    if facts.state is ItemState.CLOSED:
        return Colour.BLUE
    if is_overdue(facts, today):
        return Colour.RED
    if is_stalled(facts, today, schedule):
        return Colour.ORANGE
    if facts.time_limit is not None:
        if (facts.time_limit - today).days <= 7:
            return Colour.YELLOW if facts.state is not ItemState.PENDING_SIGN_OFF else Colour.GREEN
        total = (facts.time_limit - facts.created_on).days
        if total > 0:
            used = 100 * (today - facts.created_on).days / total
            if facts.progress + 20 < used:
                return Colour.YELLOW
    return Colour.GREEN


@dataclass
class UnitTally:
    """One unit's figures in a period (per unit, and the same shape per leader)."""

    key: str
    name: str
    items: int = 0
    reports_due: int = 0
    reports_on_time: int = 0
    due_in_period: int = 0
    closed_on_time: int = 0
    overdue: int = 0
    stalled: int = 0
    reopened: int = 0
    progress_sum: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def report_rate(self) -> float | None:
        """按期对账率 = reports filed by their due time / reports due."""
        return None if self.reports_due == 0 else self.reports_on_time / self.reports_due

    @property
    def completion_rate(self) -> float | None:
        """按期销账率 = items due in the period closed by their time limit / items due in the period."""
        return None if self.due_in_period == 0 else self.closed_on_time / self.due_in_period

    @property
    def mean_progress(self) -> float:
        return 0.0 if self.items == 0 else self.progress_sum / self.items

    def score(self) -> float:
        """The bulletin's ranking score (赛马): on-time reporting 40, on-time completion 40, mean
        progress 20, less 2 points per overdue item, 1 per stalled and 3 per reopened item; a rate with
        nothing due counts full (nothing was missed)."""
        report = 1.0 if self.report_rate is None else self.report_rate
        done = 1.0 if self.completion_rate is None else self.completion_rate
        raw = 40 * report + 40 * done + 20 * self.mean_progress / 100
        return round(raw - 2 * self.overdue - self.stalled - 3 * self.reopened, 2)


def rank(tallies: Iterable[UnitTally]) -> list[tuple[int, UnitTally]]:
    """Units by score, best first; equal scores share a rank (1, 2, 2, 4), ties listed by name."""
    ordered = sorted(tallies, key=lambda t: (-t.score(), t.name))
    out: list[tuple[int, UnitTally]] = []
    for i, t in enumerate(ordered):
        place = out[-1][0] if out and out[-1][1].score() == t.score() else i + 1
        out.append((place, t))
    return out


# --- report periods of the seeds (每月通报 / 季度 / 半年小结 / 年度考评) ----------------------------


class ReportPeriod(StrEnum):
    MONTHLY = "monthly"  # 每月通报
    QUARTERLY = "quarterly"  # 季度
    HALF_YEAR = "half_year"  # 半年小结
    ANNUAL = "annual"  # 年度考评


REPORT_PERIOD_TITLES = {ReportPeriod.MONTHLY: "每月通报", ReportPeriod.QUARTERLY: "季度通报",
                        ReportPeriod.HALF_YEAR: "半年小结", ReportPeriod.ANNUAL: "年度考评"}


#: The scoring window of each report period (a month, quarter, half year or year).
PERIOD_KIND_OF = {ReportPeriod.MONTHLY: PeriodKind.MONTH, ReportPeriod.QUARTERLY: PeriodKind.QUARTER,
                  ReportPeriod.HALF_YEAR: PeriodKind.HALF, ReportPeriod.ANNUAL: PeriodKind.YEAR}


def period_window(kind: ReportPeriod, day: date) -> Period:
    """The scoring window of a report of ``kind`` containing ``day``: a month, quarter, half year or year."""
    return of_kind(PERIOD_KIND_OF[kind], day)


def previous_window(kind: ReportPeriod, window: Period) -> Period:
    return period_window(kind, window.start - timedelta(days=1))


def window_title(kind: ReportPeriod, window: Period) -> str:
    return window.title
