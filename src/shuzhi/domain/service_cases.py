"""A service case (办件): one application at a window, for one matter or one bundle, and its life.

The departments' work is ordinary tasks of the loop (one per department and stage, with the
working-time clocks, reminders and escalation); this table is the case's own state on top of them:

``accepted`` (受理, receipt given) → ``handling`` (the first stage dispatched) → ``completed`` (every
required task done, the applicant told once) → ``delivered`` (the result collected or posted, 出件).
When the tasks are done but a material accepted under 容缺 is still missing, the case waits in
``awaiting_materials``: the result is not issued until it is supplied. ``withdrawn`` (the applicant
withdraws) and ``rejected`` (不予受理/不予许可 by a department) end it early.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from shuzhi.domain.events import IllegalTransition


class CaseState(StrEnum):
    ACCEPTED = "accepted"  # 已受理
    HANDLING = "handling"  # 办理中
    AWAITING_MATERIALS = "awaiting_materials"  # 待补齐容缺材料
    COMPLETED = "completed"  # 已办结，待取件
    DELIVERED = "delivered"  # 已出件
    WITHDRAWN = "withdrawn"  # 申请人撤回
    REJECTED = "rejected"  # 不予受理/不予办理


class CaseAction(StrEnum):
    DISPATCH = "dispatch"
    RELEASE_STAGE = "release_stage"
    TASKS_DONE = "tasks_done"
    WAIT_MATERIALS = "wait_materials"
    MATERIALS_SUPPLIED = "materials_supplied"
    DELIVER = "deliver"
    WITHDRAW = "withdraw"
    REJECT = "reject"


S = CaseState
A = CaseAction

CASE_TRANSITIONS: dict[tuple[CaseState, CaseAction], CaseState] = {
    (S.ACCEPTED, A.DISPATCH): S.HANDLING,
    # a later stage released when the earlier one is done: the case stays in handling
    (S.HANDLING, A.RELEASE_STAGE): S.HANDLING,
    (S.HANDLING, A.TASKS_DONE): S.COMPLETED,
    # every task done, a 容缺 material still owed: the result waits for it
    (S.HANDLING, A.WAIT_MATERIALS): S.AWAITING_MATERIALS,
    (S.AWAITING_MATERIALS, A.MATERIALS_SUPPLIED): S.COMPLETED,
    (S.COMPLETED, A.DELIVER): S.DELIVERED,
    (S.ACCEPTED, A.WITHDRAW): S.WITHDRAWN,
    (S.HANDLING, A.WITHDRAW): S.WITHDRAWN,
    (S.AWAITING_MATERIALS, A.WITHDRAW): S.WITHDRAWN,
    (S.HANDLING, A.REJECT): S.REJECTED,
    (S.AWAITING_MATERIALS, A.REJECT): S.REJECTED,
}

FINAL_CASE_STATES = frozenset({S.DELIVERED, S.WITHDRAWN, S.REJECTED})
#: States in which the applicant can rate the case (办结后评价).
RATEABLE_CASE_STATES = frozenset({S.COMPLETED, S.DELIVERED, S.REJECTED})


def next_case_state(state: CaseState, action: CaseAction) -> CaseState:
    try:
        return CASE_TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition("case", state.value, action.value) from None


class MaterialStatus(StrEnum):
    PROVIDED = "provided"  # 已收
    DEFERRED = "deferred"  # 容缺，待补
    SUPPLIED = "supplied"  # 容缺已补齐
    NOT_PROVIDED = "not_provided"  # an optional material the applicant does not have


def check_checklist(materials: Iterable[tuple[str, bool, bool]], given: dict[str, str]) -> list[tuple[str, str]]:
    """Problems with the materials checked at the window, as (material code, message).

    ``materials`` are (code, required, deferrable) from the guide; ``given`` maps a code to
    ``provided``, ``deferred`` or ``not_provided``. A required material must be provided, or deferred
    when the guide allows 容缺; an optional one may be missing. Unknown codes are refused.
    """
    problems: list[tuple[str, str]] = []
    known = {}
    for code, required, deferrable in materials:
        known[code] = (required, deferrable)
        status = given.get(code)
        if status is None:
            if required:
                problems.append((code, "a required material is not checked"))
            continue
        if status not in (MaterialStatus.PROVIDED, MaterialStatus.DEFERRED, MaterialStatus.NOT_PROVIDED):
            problems.append((code, f"unknown status '{status}'"))
        elif status == MaterialStatus.DEFERRED and not deferrable:
            problems.append((code, "this material cannot be deferred (容缺): the guide requires it now"))
        elif status == MaterialStatus.NOT_PROVIDED and required:
            problems.append((code, "a required material is missing and the guide does not allow 容缺"
                             if not deferrable else "a required material is missing: provide it or defer it (容缺)"))
    for code in given:
        if code not in known:
            problems.append((code, "not a material of this matter"))
    return problems


def case_action_after_task_change(state: CaseState, stages_left: int, stage_done: bool,
                                  materials_owed: bool) -> CaseAction | None:
    """What the case does after one of its tasks moved.

    * its current stage is done and a later one waits → release the next stage;
    * its last stage is done → completed, or awaiting materials while a 容缺 material is owed.
    """
    if state is not S.HANDLING or not stage_done:
        return None
    if stages_left > 0:
        return A.RELEASE_STAGE
    return A.WAIT_MATERIALS if materials_owed else A.TASKS_DONE
