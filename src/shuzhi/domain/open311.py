"""Open311 GeoReport v2 seen from the domain: how our event states read as Open311 statuses, and the
attributes every service definition asks for.

GeoReport v2 knows two statuses, ``open`` and ``closed`` ("status: The current status of the service
request. Options: open, closed"). An event is *closed* for a citizen once the centre has closed it
(结案), called back (回访), merged it into a master case or cancelled it; every earlier state is *open*.
The finer state travels in ``status_notes`` (Chinese, as shown to the citizen).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shuzhi.domain.events import EventState

OPEN = "open"
CLOSED = "closed"

#: Our event state → (Open311 status, the note a citizen reads).
STATUS_OF_STATE: dict[EventState, tuple[str, str]] = {
    EventState.REGISTERED: (OPEN, "已受理，待派遣"),
    EventState.NOTIFYING: (OPEN, "已转有关单位知悉"),
    EventState.DISPATCHED: (OPEN, "已派遣，待签收"),
    EventState.HANDLING: (OPEN, "处置中"),
    EventState.REPORTED_BACK: (OPEN, "已处置，待核查"),
    EventState.VERIFIED: (OPEN, "已核查，待结案"),
    EventState.CLOSED: (CLOSED, "已结案"),
    EventState.CALLED_BACK: (CLOSED, "已结案并回访"),
    EventState.MERGED: (CLOSED, "已合并到其他案卷办理"),
    EventState.CANCELLED: (CLOSED, "已作废"),
}

STATES_OF_STATUS: dict[str, frozenset[EventState]] = {
    status: frozenset(s for s, (st, _) in STATUS_OF_STATE.items() if st == status) for status in (OPEN, CLOSED)
}


def status_of(state: str) -> tuple[str, str]:
    """``(status, status_notes)`` of a stored state name."""
    return STATUS_OF_STATE[EventState(state)]


@dataclass(frozen=True)
class AttributeValue:
    key: str
    name: str


@dataclass(frozen=True)
class Attribute:
    """One question of a service definition (GeoReport v2 ``attribute``)."""

    code: str
    datatype: str  # string|number|datetime|text|singlevaluelist|multivaluelist
    description: str
    order: int
    required: bool = False
    variable: bool = True
    datatype_description: str | None = None
    values: tuple[AttributeValue, ...] = field(default_factory=tuple)


#: Request types a citizen may choose (our ``RequestType``), in the order the hotline asks.
REQUEST_TYPES: tuple[AttributeValue, ...] = (
    AttributeValue("complain", "投诉"),
    AttributeValue("help", "求助"),
    AttributeValue("consult", "咨询"),
    AttributeValue("suggest", "建议"),
    AttributeValue("report", "报告"),
)

#: Every service asks the same two optional questions; the class itself is the service.
ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(code="title", datatype="string", order=1, description="标题",
              datatype_description="一句话说明问题（不填则取描述开头）"),
    Attribute(code="request_type", datatype="singlevaluelist", order=2, description="诉求类型",
              values=REQUEST_TYPES),
)


def check_attributes(answers: dict[str, list[str]]) -> dict[str, str]:
    """Validate ``attribute[code]`` answers against :data:`ATTRIBUTES`; returns ``{code: problem}``."""
    known = {a.code: a for a in ATTRIBUTES}
    problems: dict[str, str] = {}
    for code, values in answers.items():
        attr = known.get(code)
        if attr is None:
            problems[code] = f"'{code}' is not an attribute of this service"
            continue
        if attr.datatype != "multivaluelist" and len(values) > 1:
            problems[code] = "give one value"
        if attr.values and any(v not in {x.key for x in attr.values} for v in values):
            problems[code] = f"must be one of {', '.join(x.key for x in attr.values)}"
    for attr in ATTRIBUTES:
        if attr.required and not any(v.strip() for v in answers.get(attr.code, [])):
            problems[attr.code] = "is required"
    return problems
