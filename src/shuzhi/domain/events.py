"""The life of an event and of its tasks, as two explicit transition tables.

An *event* (事件/案卷) is one problem reported to a centre; a *task* (任务) is one unit's share of it
(lead 主办 or assisting 协办).  The loop follows the digital city-management standard (GB/T 30428.2:
collect → register → dispatch → handle → report back → verify & close → evaluate) and the 12345 loop of
国办发〔2020〕53号 (accept, dispatch, handle, reply, urge, finish, call back, rate).

The event's state moves on what the centre does (dispatch, verify, close, call back …) and on what
its tasks reach: the service layer maps task transitions onto event actions with the rules in
:func:`event_action_after_task_change`.  Nothing here touches a database; the tables can be read top to
bottom and are tested row by row.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class EventState(StrEnum):
    REGISTERED = "registered"  # 已立案，待派遣 — also where a fully returned event waits for re-dispatch
    NOTIFYING = "notifying"  # 抄送知悉 — notify-only, waiting until every notified unit has read it
    DISPATCHED = "dispatched"  # 已派遣，待签收
    HANDLING = "handling"  # 处置中 — the lead unit has accepted
    REPORTED_BACK = "reported_back"  # 已反馈，待核查
    VERIFIED = "verified"  # 已核查，待结案
    CLOSED = "closed"  # 已结案，待回访
    CALLED_BACK = "called_back"  # 已回访（满意）
    MERGED = "merged"  # 已合并到主案卷
    CANCELLED = "cancelled"  # 作废（无效案卷）


class EventAction(StrEnum):
    NOTIFY = "notify"
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    RETURN = "return"
    WITHDRAW = "withdraw"
    REPORT_BACK = "report_back"
    SELF_HANDLE = "self_handle"
    VERIFY = "verify"
    REWORK = "rework"
    CLOSE = "close"
    ALL_READ = "all_read"
    CALLBACK_SATISFIED = "callback_satisfied"
    CALLBACK_DISSATISFIED = "callback_dissatisfied"
    RECLASSIFY = "reclassify"
    MERGE = "merge"
    CANCEL = "cancel"
    #: the lead unit declared it beyond its capacity: back to the centre one level up (上报)
    ESCALATE = "escalate"


class TaskState(StrEnum):
    NOTIFIED = "notified"  # 抄送，未读
    READ = "read"  # 已阅
    DISPATCHED = "dispatched"  # 待签收
    ACCEPTED = "accepted"  # 已签收，处置中
    EXTENSION_REQUESTED = "extension_requested"  # 延期申请中
    SUSPENDED = "suspended"  # 挂起（停表）
    REPORTED_BACK = "reported_back"  # 已反馈
    VERIFIED = "verified"  # 核查通过
    RETURNED = "returned"  # 已退单
    CANCELLED = "cancelled"  # 已撤销
    ESCALATED = "escalated"  # 已上报（超出本单位能力）


class TaskAction(StrEnum):
    READ = "read"
    ACCEPT = "accept"
    RETURN = "return"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    DENY_EXTENSION = "deny_extension"
    SUSPEND = "suspend"
    RESUME = "resume"
    REPORT_BACK = "report_back"
    VERIFY = "verify"
    REWORK = "rework"
    CANCEL = "cancel"
    ESCALATE = "escalate"


class TaskRole(StrEnum):
    LEAD = "lead"  # 主办
    ASSIST = "assist"  # 协办
    NOTIFY = "notify"  # 抄送


class EventMode(StrEnum):
    NOTIFY = "notify"  # 抄送知悉
    HANDLE = "handle"  # 流转处置


class IllegalTransition(Exception):
    """An action that the current state does not allow; the message names both."""

    def __init__(self, subject: str, state: str, action: str) -> None:
        self.subject = subject
        self.state = state
        self.action = action
        super().__init__(f"cannot {action}: the {subject} is {state}")


_OPEN_FOR_CHANGES = (
    EventState.REGISTERED,
    EventState.NOTIFYING,
    EventState.DISPATCHED,
    EventState.HANDLING,
    EventState.REPORTED_BACK,
)

E = EventState
EA = EventAction

EVENT_TRANSITIONS: dict[tuple[EventState, EventAction], EventState] = {
    # triage: notify-only or handle
    (E.REGISTERED, EA.NOTIFY): E.NOTIFYING,
    # a second round of copies (more towns told later): units already copied are not copied again
    (E.NOTIFYING, EA.NOTIFY): E.NOTIFYING,
    (E.NOTIFYING, EA.ALL_READ): E.CLOSED,
    # the centre turns a copy into a case (抄送转流转): a lead unit is dispatched, the copies stay
    (E.NOTIFYING, EA.DISPATCH): E.DISPATCHED,
    (E.REGISTERED, EA.DISPATCH): E.DISPATCHED,
    # a grid worker who fixed it on the spot reports it handled (自行处置); the centre still verifies
    (E.REGISTERED, EA.SELF_HANDLE): E.REPORTED_BACK,
    # more units can be added while the event is being handled (an assisting unit, a re-dispatch)
    (E.DISPATCHED, EA.DISPATCH): E.DISPATCHED,
    (E.HANDLING, EA.DISPATCH): E.HANDLING,
    (E.DISPATCHED, EA.ACCEPT): E.HANDLING,
    # every lead task returned (退单) or withdrawn: back to the dispatching centre for re-dispatch
    (E.DISPATCHED, EA.RETURN): E.REGISTERED,
    (E.HANDLING, EA.RETURN): E.REGISTERED,
    (E.DISPATCHED, EA.WITHDRAW): E.REGISTERED,
    (E.HANDLING, EA.WITHDRAW): E.REGISTERED,
    # the lead unit declared it beyond its capacity: registered again, now at the centre one level up
    (E.DISPATCHED, EA.ESCALATE): E.REGISTERED,
    (E.HANDLING, EA.ESCALATE): E.REGISTERED,
    (E.HANDLING, EA.REPORT_BACK): E.REPORTED_BACK,
    (E.REPORTED_BACK, EA.VERIFY): E.VERIFIED,
    # failed verification sends the work back (返工)
    (E.REPORTED_BACK, EA.REWORK): E.HANDLING,
    (E.VERIFIED, EA.CLOSE): E.CLOSED,
    # call-back (回访): satisfied ends the loop; dissatisfied reopens it for redo with new tasks
    (E.CLOSED, EA.CALLBACK_SATISFIED): E.CALLED_BACK,
    (E.CLOSED, EA.CALLBACK_DISSATISFIED): E.DISPATCHED,
    # reclassification keeps the state; the service re-dispatches when the responsible unit changes
    (E.REGISTERED, EA.RECLASSIFY): E.REGISTERED,
    (E.DISPATCHED, EA.RECLASSIFY): E.DISPATCHED,
    (E.HANDLING, EA.RECLASSIFY): E.HANDLING,
    **{(s, EA.MERGE): E.MERGED for s in _OPEN_FOR_CHANGES},
    **{(s, EA.CANCEL): E.CANCELLED for s in _OPEN_FOR_CHANGES},
}

T = TaskState
TA = TaskAction
_ACTIVE_TASK_STATES = (
    T.NOTIFIED,
    T.DISPATCHED,
    T.ACCEPTED,
    T.EXTENSION_REQUESTED,
    T.SUSPENDED,
    T.REPORTED_BACK,
)

TASK_TRANSITIONS: dict[tuple[TaskState, TaskAction], TaskState] = {
    (T.NOTIFIED, TA.READ): T.READ,
    (T.DISPATCHED, TA.ACCEPT): T.ACCEPTED,
    # only a task not yet signed for can be returned as misrouted (退单须在签收前)
    (T.DISPATCHED, TA.RETURN): T.RETURNED,
    # an extension must be asked before the deadline (checked by the service with the clock)
    (T.ACCEPTED, TA.REQUEST_EXTENSION): T.EXTENSION_REQUESTED,
    (T.EXTENSION_REQUESTED, TA.APPROVE_EXTENSION): T.ACCEPTED,
    (T.EXTENSION_REQUESTED, TA.DENY_EXTENSION): T.ACCEPTED,
    (T.ACCEPTED, TA.SUSPEND): T.SUSPENDED,
    (T.SUSPENDED, TA.RESUME): T.ACCEPTED,
    (T.ACCEPTED, TA.REPORT_BACK): T.REPORTED_BACK,
    (T.REPORTED_BACK, TA.VERIFY): T.VERIFIED,
    (T.REPORTED_BACK, TA.REWORK): T.ACCEPTED,
    # beyond the unit's capacity (超出本单位能力): the unit hands it up with a reason, before or after signing
    (T.DISPATCHED, TA.ESCALATE): T.ESCALATED,
    (T.ACCEPTED, TA.ESCALATE): T.ESCALATED,
    **{(s, TA.CANCEL): T.CANCELLED for s in _ACTIVE_TASK_STATES},
}

FINAL_EVENT_STATES = frozenset({E.CALLED_BACK, E.MERGED, E.CANCELLED})
OPEN_EVENT_STATES = frozenset(_OPEN_FOR_CHANGES)
ACTIVE_TASK_STATES = frozenset(_ACTIVE_TASK_STATES)
#: A task a unit is working on (a copy for information is not): it may still be acted on, assigned,
#: handed to a board, and it names the event's lead units. The pages read it as ``working``.
WORKING_TASK_STATES = ACTIVE_TASK_STATES - {TaskState.NOTIFIED}
#: Task states in which the unit still owes work and the handling clock runs.
RUNNING_TASK_STATES = frozenset({T.DISPATCHED, T.ACCEPTED, T.EXTENSION_REQUESTED})


def next_event_state(state: EventState, action: EventAction) -> EventState:
    """The state an event reaches by ``action``, or :class:`IllegalTransition`."""
    try:
        return EVENT_TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition("event", state.value, action.value) from None


def next_task_state(state: TaskState, action: TaskAction) -> TaskState:
    """The state a task reaches by ``action``, or :class:`IllegalTransition`."""
    try:
        return TASK_TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition("task", state.value, action.value) from None


def allowed_event_actions(state: EventState) -> list[EventAction]:
    return [a for (s, a) in EVENT_TRANSITIONS if s is state]


def allowed_task_actions(state: TaskState) -> list[TaskAction]:
    return [a for (s, a) in TASK_TRANSITIONS if s is state]


def event_action_after_task_change(
    event_state: EventState, tasks: Iterable[tuple[TaskRole, TaskState]]
) -> EventAction | None:
    """What the event does once one of its tasks has moved.

    Rules (首接负责: the event stays with the centre until a lead unit owns it):

    * the first lead task accepted moves a dispatched event to *handling*;
    * when no lead task is active any more and none has got further than being returned, cancelled or
      escalated, the event goes back to the centre (*return*) for re-dispatch — or *escalate* when the
      last lead task was escalated as beyond its unit's capacity;
    * a handling event is *reported back* when every live handle task (lead and assisting) has
      reported back and at least one lead task has;
    * a notifying event is *all read* when every notify task is read.
    """
    task_list = list(tasks)
    handle = [(r, s) for r, s in task_list if r is not TaskRole.NOTIFY]
    live = [(r, s) for r, s in handle if s not in (T.RETURNED, T.CANCELLED, T.ESCALATED)]
    live_leads = [s for r, s in live if r is TaskRole.LEAD]
    if event_state is E.NOTIFYING:
        notes = [s for r, s in task_list if r is TaskRole.NOTIFY]
        if notes and all(s is T.READ for s in notes):
            return EA.ALL_READ
        return None
    if event_state in (E.DISPATCHED, E.HANDLING) and not live_leads:
        leads = [s for r, s in handle if r is TaskRole.LEAD]
        return EA.ESCALATE if leads and leads[-1] is T.ESCALATED else EA.RETURN
    if event_state is E.DISPATCHED and any(s is not T.DISPATCHED for s in live_leads):
        return EA.ACCEPT
    if event_state is E.HANDLING and all(s in (T.REPORTED_BACK, T.VERIFIED) for _, s in live):
        return EA.REPORT_BACK
    return None
