"""The town (镇街) as the execution end: its boards (一中心四板块一网格) and tasks to named people (事件责任人).

Pure rules, no I/O:

- **boards** — the town centre's boards; the city names them (data), the four of the seeds are the
  default: 党的建设, 经济发展, 平安法治, 民生服务. A board is a unit under the town centre with posts
  held by named people, a town leader in charge, and a duty list.
- **assigning** a task to a person: only the holding unit's leader (a person of the unit in the
  ``leader`` role, or the town leader in charge of a board) or a superior centre (a centre with an
  event-level standing on the event, :mod:`shuzhi.domain.standing`) may; only to a member of the
  holding unit (his own unit, or a post on the board); only while the task is live and is work (a
  copy is read by the unit, not assigned).
- **leaving**: a person whose account is disabled or who leaves the unit (moved, or his post given to
  someone else) no longer answers for its open tasks: they return to the unit's leader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: (key, name) of the default boards, in order (the seeds: "141" 基层智治体系, 四板块).
DEFAULT_BOARDS: tuple[tuple[str, str], ...] = (
    ("party_building", "党的建设"),
    ("economy", "经济发展"),
    ("safety_law", "平安法治"),
    ("livelihood", "民生服务"),
)

BOARD_KEY = re.compile(r"^[a-z][a-z0-9_]{1,29}$")

#: Why open tasks left a person (the timeline's reason, in the users' language).
LEFT_DISABLED = "责任人账号已停用，任务退回单位负责人"
LEFT_MOVED = "责任人已调离本单位，任务退回单位负责人"
LEFT_POST = "责任人已不在本板块岗位，任务退回板块负责人"


def board_unit_code(town_area_code: str, key: str) -> str:
    """A board's unit code: the town's area code and the board's key (``B500111001-safety_law``)."""
    return f"B{town_area_code}-{key}"


def board_key_problem(key: str) -> str | None:
    if not BOARD_KEY.match(key):
        return "a board key is 2–30 lower-case letters, digits or '_', starting with a letter"
    return None


@dataclass(frozen=True)
class Assigner:
    """The person assigning, as the rule needs him."""

    person_id: int | None
    unit_id: int | None
    role: str | None
    #: the person's unit is a centre with an event-level standing on the task's event (or he is
    #: installation-wide)
    superior_centre: bool


def may_assign(who: Assigner, task_unit_id: int, board_leader_id: int | None) -> bool:
    """Whether ``who`` may assign (or reassign) a task held by ``task_unit_id``: the unit's own leader,
    the board's leader in charge, or a superior centre — never a plain member of the unit."""
    if who.superior_centre:
        return True
    if who.person_id is not None and who.person_id == board_leader_id:
        return True
    return who.role == "leader" and who.unit_id == task_unit_id


def leader_to_return_to(board_leader_id: int | None, unit_leader_ids: list[int], leaving_id: int) -> int | None:
    """The person open tasks return to when ``leaving_id`` leaves: the board's leader in charge, else
    the first of the unit's leaders; never the one leaving; ``None`` = the unit as a whole."""
    for candidate in [board_leader_id, *unit_leader_ids]:
        if candidate is not None and candidate != leaving_id:
            return candidate
    return None
