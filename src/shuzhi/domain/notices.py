"""Notices that reach people: channels, escalation policies, templates, SMS length, quiet hours,
rate limits and replies — the rules, with no I/O.

An **escalation policy** is data: an ordered list of steps, each naming *who* (task holder, unit leader,
duty officer from the roster, leader in charge, the unit itself), *by which channels*, and *after how
long without an acknowledgement* (counted from the start of the chain). Acknowledging on any channel
ends the chain. Example (the red warning's default)::

    {"steps": [{"after_minutes": 0,  "who": ["duty_officer", "unit"], "channels": ["sms", "im", "inapp"]},
               {"after_minutes": 10, "who": ["unit_leader"],          "channels": ["sms", "inapp"]},
               {"after_minutes": 30, "who": ["leader_in_charge"],     "channels": ["sms", "inapp"]}]}
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")


class Channel(StrEnum):
    SMS = "sms"
    IM = "im"  # the unit's WeCom / DingTalk group robots
    INAPP = "inapp"  # inbox item + browser notification


class Who(StrEnum):
    TASK_HOLDER = "task_holder"
    UNIT_LEADER = "unit_leader"
    DUTY_OFFICER = "duty_officer"
    LEADER_IN_CHARGE = "leader_in_charge"
    UNIT = "unit"  # the unit's own number, group and desk


WHO_LABELS = {Who.TASK_HOLDER: "任务承办人", Who.UNIT_LEADER: "单位负责人", Who.DUTY_OFFICER: "值班员",
              Who.LEADER_IN_CHARGE: "分管领导", Who.UNIT: "单位"}
CHANNEL_LABELS = {Channel.SMS: "短信", Channel.IM: "政务通讯群", Channel.INAPP: "站内消息"}


class NoticeKind(StrEnum):
    WARNING_RED = "warning.red"
    WARNING_ORANGE = "warning.orange"
    PLAN_ACTIVATED = "plan.activated"
    TASK_URGENT = "task.urgent"
    #: A series went silent (the staleness alarm, issue #22): told to the indicator's owner.
    WARNING_NO_DATA = "warning.no_data"
    #: A risk point's rectification has one working day left (即将到期) / passed its deadline (逾期),
    #: told to the point's responsible unit (issue #22).
    RECTIFICATION_DUE = "rectification.due"
    RECTIFICATION_OVERDUE = "rectification.overdue"


@dataclass(frozen=True)
class Step:
    after: timedelta
    who: tuple[Who, ...]
    channels: tuple[Channel, ...]


@dataclass(frozen=True)
class Policy:
    code: str
    name: str
    kind: str
    steps: tuple[Step, ...]

    def due_at(self, started_at: datetime, index: int) -> datetime | None:
        """When step ``index`` runs, or ``None`` past the last step."""
        if index >= len(self.steps):
            return None
        return started_at + self.steps[index].after


class PolicyError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


MAX_STEPS = 10
MAX_DELAY_MINUTES = 7 * 24 * 60


def parse_steps(doc: Any) -> tuple[Step, ...]:
    """Steps from their JSON form, checked: 1–10 steps, delays 0…7 days and never decreasing,
    known recipients and channels, each at least one."""
    if not isinstance(doc, list) or not doc:
        raise PolicyError("steps", "a policy needs at least one step")
    if len(doc) > MAX_STEPS:
        raise PolicyError("steps", f"at most {MAX_STEPS} steps")
    steps: list[Step] = []
    for i, raw in enumerate(doc):
        where = f"steps[{i}]"
        if not isinstance(raw, Mapping):
            raise PolicyError(where, "a step is an object with after_minutes, who and channels")
        minutes = raw.get("after_minutes", 0)
        if not isinstance(minutes, int | float) or isinstance(minutes, bool) or not 0 <= minutes <= MAX_DELAY_MINUTES:
            raise PolicyError(f"{where}.after_minutes", f"after_minutes must be 0…{MAX_DELAY_MINUTES}")
        after = timedelta(minutes=float(minutes))
        if steps and after < steps[-1].after:
            raise PolicyError(f"{where}.after_minutes", "steps must be in time order (counted from the start)")
        who = _enum_list(raw.get("who"), Who, f"{where}.who")
        channels = _enum_list(raw.get("channels"), Channel, f"{where}.channels")
        steps.append(Step(after, who, channels))
    return tuple(steps)


def _enum_list(value: Any, enum: type[Who] | type[Channel], field: str) -> Any:
    if not isinstance(value, list) or not value:
        raise PolicyError(field, f"name at least one of {', '.join(e.value for e in enum)}")
    out = []
    for j, item in enumerate(value):
        try:
            member = enum(item)
        except ValueError:
            raise PolicyError(f"{field}[{j}]", f"'{item}' is not one of {', '.join(e.value for e in enum)}") from None
        if member not in out:
            out.append(member)
    return tuple(out)


def steps_document(steps: tuple[Step, ...]) -> list[dict[str, Any]]:
    return [{"after_minutes": s.after.total_seconds() / 60, "who": [w.value for w in s.who],
             "channels": [c.value for c in s.channels]} for s in steps]


#: The policies an installation starts with (editable data; ``shuzhi`` never overwrites an edited one).
DEFAULT_POLICIES: dict[str, dict[str, Any]] = {
    "red-warning": {"name": "红色预警", "kind": NoticeKind.WARNING_RED.value, "steps": [
        {"after_minutes": 0, "who": ["duty_officer", "unit"], "channels": ["sms", "im", "inapp"]},
        {"after_minutes": 10, "who": ["unit_leader"], "channels": ["sms", "inapp"]},
        {"after_minutes": 30, "who": ["leader_in_charge"], "channels": ["sms", "inapp"]}]},
    "orange-warning": {"name": "橙色预警", "kind": NoticeKind.WARNING_ORANGE.value, "steps": [
        {"after_minutes": 0, "who": ["duty_officer"], "channels": ["sms", "inapp"]},
        {"after_minutes": 30, "who": ["unit_leader"], "channels": ["sms", "inapp"]}]},
    "no-data-warning": {"name": "数据中断", "kind": NoticeKind.WARNING_NO_DATA.value, "steps": [
        {"after_minutes": 0, "who": ["unit"], "channels": ["im", "inapp"]},
        {"after_minutes": 120, "who": ["unit_leader"], "channels": ["sms", "inapp"]}]},
    "rectification-due": {"name": "整改即将到期", "kind": NoticeKind.RECTIFICATION_DUE.value, "steps": [
        {"after_minutes": 0, "who": ["unit"], "channels": ["sms", "im", "inapp"]}]},
    "rectification-overdue": {"name": "整改逾期", "kind": NoticeKind.RECTIFICATION_OVERDUE.value, "steps": [
        {"after_minutes": 0, "who": ["unit", "unit_leader"], "channels": ["sms", "im", "inapp"]},
        {"after_minutes": 240, "who": ["leader_in_charge"], "channels": ["sms", "inapp"]}]},
    "plan-activated": {"name": "预案启动", "kind": NoticeKind.PLAN_ACTIVATED.value, "steps": [
        {"after_minutes": 0, "who": ["duty_officer", "unit"], "channels": ["sms", "inapp"]},
        {"after_minutes": 15, "who": ["unit_leader"], "channels": ["sms", "inapp"]}]},
}

# --- templates ---------------------------------------------------------------------------------------

SIGNATURE = "【数治】"
#: Which notice kinds may wake people at night (quiet hours do not hold them back).
URGENT_KINDS = frozenset({NoticeKind.WARNING_RED.value, NoticeKind.PLAN_ACTIVATED.value,
                          NoticeKind.TASK_URGENT.value})

_ACK = "回复1确认 {link}"
TEMPLATES: dict[str, tuple[str, str]] = {
    # kind: (title, body) — body fields: number, class_name, place, deadline, link, level, plan
    NoticeKind.WARNING_RED.value: ("红色预警", "{level}预警{number}：{class_name}，{place}。请{deadline}前处置，"
                                   + _ACK),
    NoticeKind.WARNING_ORANGE.value: ("橙色预警", "{level}预警{number}：{class_name}，{place}。请{deadline}前核实，"
                                      + _ACK),
    NoticeKind.PLAN_ACTIVATED.value: ("预案启动", "预案启动{number}：{plan}，{place}。请{deadline}前响应，" + _ACK),
    NoticeKind.WARNING_NO_DATA.value: ("数据中断", "数据中断{number}：{class_name}，{place}超时未上报。"
                                                   "请{deadline}前恢复，" + _ACK),
    NoticeKind.RECTIFICATION_DUE.value: ("整改即将到期", "整改提醒{number}：{class_name}，{place}。整改期限{deadline}，"
                                                         "请按期完成，" + _ACK),
    NoticeKind.RECTIFICATION_OVERDUE.value: ("整改逾期", "整改逾期{number}：{class_name}，{place}。期限{deadline}已过，"
                                                       "请尽快完成，" + _ACK),
    NoticeKind.TASK_URGENT.value: ("紧急任务", "紧急任务{number}：{class_name}，{place}。请{deadline}前处置，" + _ACK),
}
ESCALATED_PREFIX = "【升级】"
FIELDS = ("number", "class_name", "place", "deadline", "link", "level", "plan")

# Personal data never goes into a notice (reporters' names, phones, ID numbers): the template takes
# only the fields above, and free text (a place's name) is scrubbed of anything that looks personal.
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
_ID_CARD = re.compile(r"(?<![\dXx])\d{17}[\dXx](?![\dXx])")


def scrub(text: str) -> str:
    """Mask phone and ID-card numbers in free text."""
    text = _ID_CARD.sub("[已隐去]", text)
    text = _MOBILE.sub("[已隐去]", text)
    return _LANDLINE.sub("[已隐去]", text)


def local_deadline(at: datetime | None) -> str:
    if at is None:
        return "尽快"
    return at.astimezone(LOCAL).strftime("%m月%d日%H:%M").lstrip("0")


def render(kind: str, context: Mapping[str, Any], *, escalated: bool = False, max_parts: int = 2) -> tuple[str, str]:
    """(title, text) of a notice; the text fits ``max_parts`` SMS parts by shortening the place."""
    title, body = TEMPLATES.get(kind, ("通知", "{number}：{class_name}，{place}。回复1确认 {link}"))
    values = {f: scrub(str(context.get(f) or "")) for f in FIELDS}
    values["deadline"] = context.get("deadline_text") or "尽快"
    prefix = SIGNATURE + (ESCALATED_PREFIX if escalated else "")
    text = prefix + body.format(**values)
    place = values["place"]
    while sms_parts(text) > max_parts and len(place) > 4:
        place = place[: max(4, len(place) - 4)]
        text = prefix + body.format(**{**values, "place": place + "…"})
    return title, text


# --- SMS length ---------------------------------------------------------------------------------------

#: GSM 03.38 default alphabet (7-bit); anything else makes the message UCS-2.
_GSM = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
           "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
UCS2_SINGLE, UCS2_PART = 70, 67
GSM_SINGLE, GSM_PART = 160, 153


def is_ucs2(text: str) -> bool:
    return any(ch not in _GSM for ch in text)


def sms_parts(text: str) -> int:
    """How many SMS a text takes: UCS-2 (Chinese) 70 characters in one, 67 per part when
    concatenated; the GSM alphabet 160, then 153 per part (the rest of each part is the UDH)."""
    n = len(text.encode("utf-16-be")) // 2 if is_ucs2(text) else len(text)
    single, part = (UCS2_SINGLE, UCS2_PART) if is_ucs2(text) else (GSM_SINGLE, GSM_PART)
    if n <= single:
        return 1
    return math.ceil(n / part)


# --- quiet hours ------------------------------------------------------------------------------------


def parse_clock(value: str | None, field: str) -> time | None:
    if value in (None, ""):
        return None
    assert value is not None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise PolicyError(field, f"'{value}' is not a time of day (HH:MM)") from None


def quiet_until(at: datetime, start: time | None, end: time | None) -> datetime | None:
    """If ``at`` falls in the quiet hours ``[start, end)`` (local time, may wrap past midnight),
    the moment they end; else ``None``."""
    if start is None or end is None or start == end:
        return None
    local = at.astimezone(LOCAL)
    now = local.time()
    inside = (start <= now < end) if start < end else (now >= start or now < end)
    if not inside:
        return None
    day = local.date() if now < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=LOCAL).astimezone(at.tzinfo)


# --- rate limits and replies -------------------------------------------------------------------------

#: Per person and channel: at most ``count`` notices in ``window`` (a storm of warnings is not a storm of SMS).
RATE_LIMITS: dict[Channel, tuple[int, timedelta]] = {
    Channel.SMS: (6, timedelta(minutes=10)),
    Channel.IM: (20, timedelta(minutes=1)),  # the platforms' own limit per robot
    Channel.INAPP: (60, timedelta(minutes=10)),
}
#: The same notice (kind, subject, person, channel) is not sent again within this window.
DEDUP_WINDOW = timedelta(minutes=30)

_ACK_WORDS = {"1", "１", "确认", "收到", "已阅", "知悉", "ok", "OK", "y", "Y"}
_REPLY = re.compile(r"^\s*(\S+?)(?:\s*[#＃ ]\s*([A-Za-z0-9]{4,12}))?\s*[。.!！]?\s*$")


@dataclass(frozen=True)
class Reply:
    ack: bool
    code: str | None


def parse_reply(text: str) -> Reply:
    """``1`` (or 确认/收到) acknowledges the latest notice sent to the phone; ``1 K7Q2M9`` the one
    with that code."""
    m = _REPLY.match(text or "")
    if not m or m.group(1) not in _ACK_WORDS:
        return Reply(False, None)
    return Reply(True, m.group(2).upper() if m.group(2) else None)


def mask_phone(phone: str | None) -> str:
    """138****0000: the timeline names a number without showing it whole."""
    if not phone:
        return ""
    digits = phone.strip()
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"
