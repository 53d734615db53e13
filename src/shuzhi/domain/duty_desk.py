"""The duty desk (值班台): shift handover (交接班), the duty log (值班日志) and on-post checks (在岗抽查).

Three records a centre on 7×24 duty keeps beside its roster (:mod:`shuzhi.domain.duty`):

- a **handover** is offered by the outgoing officer with the open items of the shift listed, and
  confirmed by the incoming officer (with a note); once confirmed it never changes again;
- a **duty log entry** is one call, instruction received, instruction given or notable event, with the
  time it happened; entries are only ever added (a correction is a new entry);
- an **on-post check** is asked by a superior centre of a lower centre: the officer on duty there must
  confirm presence within N minutes; a check nobody confirmed in time is *missed* (by the worker's
  sweep), and a late confirmation does not turn a miss into a pass.

Both state machines are tables (read them top to bottom); :func:`next_state` is the one door.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class LogKind(StrEnum):
    CALL = "call"  # 来电
    INSTRUCTION_RECEIVED = "instruction_received"  # 接收指示
    INSTRUCTION_GIVEN = "instruction_given"  # 传达/下达指示
    NOTABLE_EVENT = "notable_event"  # 重要事项


LOG_KIND_LABELS: dict[LogKind, str] = {
    LogKind.CALL: "来电", LogKind.INSTRUCTION_RECEIVED: "接收指示", LogKind.INSTRUCTION_GIVEN: "下达指示",
    LogKind.NOTABLE_EVENT: "重要事项"}

#: The longest text of a log entry or note (a duty log is a list of short records, not a report).
MAX_TEXT = 2000
#: A log entry may be written up afterwards, but not about tomorrow, nor about a week ago.
MAX_LOG_FUTURE = timedelta(minutes=5)
MAX_LOG_PAST = timedelta(days=7)


class HandoverState(StrEnum):
    OFFERED = "offered"  # 待接班
    CONFIRMED = "confirmed"  # 已接班
    WITHDRAWN = "withdrawn"  # 已撤回


class HandoverAction(StrEnum):
    CONFIRM = "confirm"
    WITHDRAW = "withdraw"


HANDOVER_TRANSITIONS: dict[tuple[HandoverState, HandoverAction], HandoverState] = {
    (HandoverState.OFFERED, HandoverAction.CONFIRM): HandoverState.CONFIRMED,
    (HandoverState.OFFERED, HandoverAction.WITHDRAW): HandoverState.WITHDRAWN,
}


class CheckState(StrEnum):
    PENDING = "pending"  # 待确认
    CONFIRMED = "confirmed"  # 已确认在岗
    MISSED = "missed"  # 未按时确认


class CheckAction(StrEnum):
    CONFIRM = "confirm"
    MISS = "miss"


CHECK_TRANSITIONS: dict[tuple[CheckState, CheckAction], CheckState] = {
    (CheckState.PENDING, CheckAction.CONFIRM): CheckState.CONFIRMED,
    (CheckState.PENDING, CheckAction.MISS): CheckState.MISSED,
}

STATE_LABELS: dict[str, str] = {
    HandoverState.OFFERED: "待接班", HandoverState.CONFIRMED: "已接班", HandoverState.WITHDRAWN: "已撤回",
    CheckState.PENDING: "待确认", CheckState.CONFIRMED: "已确认在岗", CheckState.MISSED: "未按时确认"}

#: How long a lower centre may be given to confirm presence (minutes).
MIN_CHECK_MINUTES = 1
MAX_CHECK_MINUTES = 120
DEFAULT_CHECK_MINUTES = 10


class IllegalTransition(Exception):
    def __init__(self, state: str, action: str) -> None:
        super().__init__(f"cannot {action} when {state}")
        self.state = state
        self.action = action


def next_handover_state(state: HandoverState, action: HandoverAction) -> HandoverState:
    try:
        return HANDOVER_TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(state.value, action.value) from None


def next_check_state(state: CheckState, action: CheckAction) -> CheckState:
    try:
        return CHECK_TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(state.value, action.value) from None


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


def check_log_entry(kind: str, content: str, occurred_at: datetime, now: datetime) -> list[Problem]:
    """Every rule a new log entry breaks (messages in Chinese, shown at the field)."""
    problems: list[Problem] = []
    if kind not in {k.value for k in LogKind}:
        problems.append(Problem("kind", "类别须为：" + "、".join(LOG_KIND_LABELS.values())))
    text = content.strip()
    if not text:
        problems.append(Problem("content", "请填写内容"))
    elif len(text) > MAX_TEXT:
        problems.append(Problem("content", f"内容最长 {MAX_TEXT} 字"))
    if occurred_at.tzinfo is None:
        problems.append(Problem("occurred_at", "时间须带时区（UTC 或 +08:00）"))
    elif occurred_at > now + MAX_LOG_FUTURE:
        problems.append(Problem("occurred_at", "时间不能晚于现在"))
    elif occurred_at < now - MAX_LOG_PAST:
        problems.append(Problem("occurred_at", f"只能补记 {MAX_LOG_PAST.days} 天内的事项"))
    return problems


def check_minutes(minutes: int) -> list[Problem]:
    if not MIN_CHECK_MINUTES <= minutes <= MAX_CHECK_MINUTES:
        return [Problem("minutes", f"确认时限须在 {MIN_CHECK_MINUTES}–{MAX_CHECK_MINUTES} 分钟之间")]
    return []


def is_superior(superior_path: str, lower_path: str) -> bool:
    """A centre is superior to another when the other's area lies strictly inside its own."""
    return lower_path != superior_path and lower_path.startswith(superior_path)


def check_handover(outgoing_person_id: int, incoming_person_id: int, note: str) -> list[Problem]:
    problems: list[Problem] = []
    if outgoing_person_id == incoming_person_id:
        problems.append(Problem("to_person_code", "接班人不能是交班人本人"))
    if len(note.strip()) > MAX_TEXT:
        problems.append(Problem("note", f"备注最长 {MAX_TEXT} 字"))
    return problems


def check_outcome(state: CheckState, confirmed_at: datetime | None, due_at: datetime) -> bool | None:
    """On time (True), missed (False) or not yet decided (None)."""
    if state is CheckState.CONFIRMED:
        return confirmed_at is not None and confirmed_at <= due_at
    if state is CheckState.MISSED:
        return False
    return None


#: On-post check figures per checked unit, beside the events' in evaluation (在岗抽查).
PRESENCE_MEASURES: tuple[str, ...] = ("presence_checks", "presence_misses", "presence_on_time")
PRESENCE_RATES: tuple[str, ...] = ("presence_on_time_rate",)
PRESENCE_LABELS: dict[str, str] = {"presence_checks": "在岗抽查次数", "presence_misses": "抽查未在岗次数",
                                   "presence_on_time": "按时确认次数", "presence_on_time_rate": "在岗抽查按时率"}


def presence_rates(counts: dict[str, int]) -> dict[str, float | None]:
    """在岗抽查按时率 = confirmed in time / decided checks (a check still pending counts in neither)."""
    decided = counts.get("presence_checks", 0)
    return {"presence_on_time_rate": (counts.get("presence_on_time", 0) / decided) if decided else None}
