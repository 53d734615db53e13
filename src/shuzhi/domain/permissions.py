"""Roles and permissions as data: which role may do what.

Permissions are checked once, in the service layer (``shuzhi.services.security.authz.require``), never in routes.
A city may change this table: :data:`DEFAULT_ROLE_PERMISSIONS` below is the default, and an installation's
role file (``SHUZHI_ROLE_PERMISSIONS_FILE``, docs/operations.md) replaces or amends a role's set; it is
checked by :func:`role_table` at start-up, naming every unknown role and permission. The names are
stable because services and tests name them. What a role may *see* is a separate question, answered by
its data scope (``shuzhi.services.security.authz``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    DUTY_OFFICER = "duty_officer"
    DISPATCHER = "dispatcher"
    HANDLER = "handler"
    GRID_WORKER = "grid_worker"
    LEADER = "leader"
    AUDITOR = "auditor"
    INTEGRATOR = "integrator"


# Permission names: "<object>.<verb>". Reading is governed by scope, so "read" permissions only
# gate whole areas of the product (e.g. the audit log), not individual rows.
EVENT_READ = "event.read"
EVENT_SUBMIT = "event.submit"
EVENT_DISPATCH = "event.dispatch"  # dispatch, notify, withdraw, merge, cancel, reclassify, self-handle
EVENT_VERIFY = "event.verify"  # verify, close, call back
TASK_HANDLE = "task.handle"  # accept, return, extension request, report back
TASK_DECIDE = "task.decide"  # approve/deny extensions, suspend/resume
EVENT_URGE = "event.urge"  # one-click urge (一键督办): a centre function, see URGE_ROLES
PERSONAL_DATA_REVEAL = "personal_data.reveal"
RULE_READ = "rule.read"
RULE_WRITE = "rule.write"
REFERENCE_WRITE = "reference.write"  # areas, organisation, catalogue, calendar imports
INDICATOR_READ = "indicator.read"
INDICATOR_WRITE = "indicator.write"  # indicator tree, thresholds, silences
READING_SUBMIT = "reading.submit"
WARNING_ACK = "warning.ack"
PLAN_READ = "plan.read"
PLAN_WRITE = "plan.write"
PLAN_ACTIVATE = "plan.activate"
REVIEW_WRITE = "review.write"  # lessons learned of a review (复盘)
EVALUATION_READ = "evaluation.read"
EVALUATION_WRITE = "evaluation.write"  # scoring schemes, colour bands
REPORT_READ = "report.read"
EXPORT = "data.export"
EVENT_IMPORT = "event.import"  # bulk import of events from a file (a legacy system's backlog)
USER_ADMIN = "user.admin"
AUDIT_READ = "audit.read"
WEBHOOK_ADMIN = "webhook.admin"
API_KEY_ADMIN = "api_key.admin"  # connected systems' keys: create, rotate, revoke
# --- duty roster and notices (issue #19) ---
DUTY_WRITE = "duty.write"  # a centre's duty roster: shifts, roster import
NOTICE_ADMIN = "notice.admin"  # escalation policies, notice channels of other people
# --- the duty desk (issue #18): handover, duty log and daily report, on-post checks ---
DUTY_DESK = "duty.desk"  # one's own centre's duty log and shift handover (交接班, 值班日志)
DUTY_CHECK = "duty.check"  # ask a lower centre's officer on duty to confirm presence (在岗抽查)
DUTY_DESK_ROLES = {"duty_officer": {DUTY_DESK, DUTY_CHECK}, "dispatcher": {DUTY_DESK, DUTY_CHECK},
                   "administrator": {DUTY_DESK, DUTY_CHECK}, "leader": {DUTY_CHECK}}
# ledgers (台账): read, report progress as a responsible unit, run a ledger (items, import, bulletin),
# and close items off as the sign-off authority (销账/整改销号)
LEDGER_READ = "ledger.read"
LEDGER_REPORT = "ledger.report"
LEDGER_MANAGE = "ledger.manage"
LEDGER_SIGN_OFF = "ledger.sign_off"
MODEL_ADMIN = "model.admin"  # hotline text model: train, activate, roll back, automation thresholds
STAFF_READ = "staff.read"  # the staff directory (names, units, roles; phones masked)
PEER_COMPARE = "evaluation.peers"  # rankings and red/black lists of peers (赛马比拼, 晒账), not their events
EVALUATION_PUBLISH = "evaluation.publish"  # a district centre publishes its towns' ranking of a period (赛马比拼)
# --- the grid worker's phone: patrol log (巡查记录) ---
PATROL_WRITE = "patrol.write"  # start and stop one's own patrol, record its track, report findings on it
PATROL_READ = "patrol.read"  # read the patrols of the grid workers in one's area (a town centre's own)
# --- the town (issue #20) ---
TASK_ASSIGN = "task.assign"  # give a unit's task to a named person of it (事件责任人); who may is domain/town.py
# --- risk points (风险点, issue #22): register, import, kinds, rectification marks ---
RISK_POINT_WRITE = "risk_point.write"

#: Codes that name the system's own actors (the worker, the anonymous caller) or could be mistaken for
#: them in the audit log: never a person's staff code (case-insensitive).
RESERVED_CODES = frozenset({"system", "anonymous", "root", "apikey", "api_key", "shuzhi"})


def is_reserved_code(code: str) -> bool:
    return code.strip().lower() in RESERVED_CODES


_DESK = {EVENT_READ, EVENT_SUBMIT, EVENT_DISPATCH, EVENT_VERIFY, TASK_HANDLE, TASK_DECIDE, RULE_READ,
         INDICATOR_READ, WARNING_ACK, PLAN_READ, PLAN_ACTIVATE, EVALUATION_READ, REPORT_READ, EXPORT,
         PERSONAL_DATA_REVEAL, READING_SUBMIT, REVIEW_WRITE, STAFF_READ, PEER_COMPARE,
         DUTY_WRITE, LEDGER_READ, LEDGER_REPORT, LEDGER_MANAGE, LEDGER_SIGN_OFF, PATROL_READ, TASK_ASSIGN}

_ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMINISTRATOR: frozenset(_DESK | {RULE_WRITE, REFERENCE_WRITE, INDICATOR_WRITE, PLAN_WRITE,
                                           EVALUATION_WRITE, USER_ADMIN, WEBHOOK_ADMIN, API_KEY_ADMIN, NOTICE_ADMIN,
                                           EVENT_IMPORT, MODEL_ADMIN, RISK_POINT_WRITE, EVALUATION_PUBLISH}),
    Role.DUTY_OFFICER: frozenset(_DESK),
    Role.DISPATCHER: frozenset(_DESK | {RULE_WRITE, RISK_POINT_WRITE}),
    Role.HANDLER: frozenset({EVENT_READ, EVENT_SUBMIT, TASK_HANDLE, INDICATOR_READ, PLAN_READ, EVALUATION_READ,
                             REPORT_READ, STAFF_READ, LEDGER_READ, LEDGER_REPORT}),
    Role.GRID_WORKER: frozenset({EVENT_READ, EVENT_SUBMIT, TASK_HANDLE, EVENT_VERIFY, INDICATOR_READ,
                                 PLAN_READ, LEDGER_READ, LEDGER_REPORT, PATROL_WRITE}),
    Role.LEADER: frozenset({EVENT_READ, RULE_READ, INDICATOR_READ, PLAN_READ, PLAN_ACTIVATE,
                            EVALUATION_READ, REPORT_READ, EXPORT, REVIEW_WRITE, STAFF_READ, PEER_COMPARE,
                            LEDGER_READ, LEDGER_SIGN_OFF, PATROL_READ, TASK_ASSIGN, EVALUATION_PUBLISH}),
    Role.AUDITOR: frozenset({EVENT_READ, AUDIT_READ, RULE_READ, INDICATOR_READ, PLAN_READ, EVALUATION_READ,
                             REPORT_READ, STAFF_READ, LEDGER_READ, PATROL_READ}),
    Role.INTEGRATOR: frozenset({EVENT_READ, EVENT_SUBMIT, READING_SUBMIT, INDICATOR_READ}),
}

#: Who may urge (一键督办) by default. Urging is a centre function, not only a leader's: the duty officers
#: and dispatchers at the desk press a late unit as part of their shift (issue #18). A city narrows or
#: widens it with ``SHUZHI_URGE_ROLES`` (:func:`configure_urge_roles`), or in its role file.
URGE_ROLES: frozenset[Role] = frozenset({Role.LEADER, Role.ADMINISTRATOR, Role.DUTY_OFFICER, Role.DISPATCHER})

#: The table an installation starts from.
DEFAULT_ROLE_PERMISSIONS: Mapping[Role, frozenset[str]] = MappingProxyType({
    role: frozenset(perms | DUTY_DESK_ROLES.get(role.value, set()) | ({EVENT_URGE} if role in URGE_ROLES else set()))
    for role, perms in _ROLE_PERMISSIONS.items()})
#: Every permission the product checks (each is granted to some role by default).
KNOWN_PERMISSIONS: frozenset[str] = frozenset().union(*DEFAULT_ROLE_PERMISSIONS.values())
#: The table in force: the default, or the installation's (:func:`use_role_table`).
ROLE_PERMISSIONS: dict[Role, frozenset[str]] = dict(DEFAULT_ROLE_PERMISSIONS)


def parse_roles(names: list[str] | tuple[str, ...] | frozenset[str]) -> frozenset[Role]:
    """Role names as configured; an unknown name is refused (a typo must not silently take urging away)."""
    out = set()
    for name in names:
        try:
            out.add(Role(name.strip()))
        except ValueError:
            raise ValueError(f"unknown role {name!r} (one of {', '.join(r.value for r in Role)})") from None
    return frozenset(out)


def configure_urge_roles(roles: frozenset[Role]) -> bool:
    """Give the urge to exactly ``roles``, unless they are the default (:data:`URGE_ROLES`): then the table
    in force (the default, or the installation's role file) decides. ``True`` if the table changed.

    The table is updated in place, so every holder of ``ROLE_PERMISSIONS`` sees the same answer."""
    if roles == URGE_ROLES:
        return False
    before = dict(ROLE_PERMISSIONS)
    for role in Role:
        perms = ROLE_PERMISSIONS[role] - {EVENT_URGE}
        ROLE_PERMISSIONS[role] = (perms | {EVENT_URGE}) if role in roles else perms
    return before != ROLE_PERMISSIONS

#: Roles whose scope is the whole installation whatever their unit (they watch, they do not act on cases).
GLOBAL_ROLES = frozenset({Role.ADMINISTRATOR, Role.AUDITOR})


def permissions_of(role: str | None) -> frozenset[str]:
    """The permissions of a role by name; an unknown or missing role has none."""
    try:
        return ROLE_PERMISSIONS[Role(role)] if role else frozenset()
    except ValueError:
        return frozenset()


class InvalidRoleTable(ValueError):
    """A role file that names roles or permissions the product does not know; every problem at once."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def role_table(doc: Mapping[str, Any]) -> dict[Role, frozenset[str]]:
    """The table an installation's document gives, over the default.

    ``{"roles": {"<role>": [<permission>, …]}}`` replaces a role's whole set;
    ``{"roles": {"<role>": {"add": […], "remove": […]}}}`` amends the default one. Roles the
    document does not name keep their default set. Unknown roles and permissions are refused, by name.
    """
    problems: list[str] = []
    extra = sorted(set(doc) - {"roles"})
    if extra:
        problems.append(f"unknown top-level key(s) {', '.join(extra)}: the file has one table, 'roles'")
    roles = doc.get("roles", {})
    if not isinstance(roles, Mapping):
        raise InvalidRoleTable([*problems, "'roles' must be a table of role → permissions"])
    table = dict(DEFAULT_ROLE_PERMISSIONS)
    for name, spec in roles.items():
        try:
            role = Role(name)
        except ValueError:
            problems.append(f"unknown role '{name}' (known: {', '.join(r.value for r in Role)})")
            continue
        if isinstance(spec, list):
            wanted, add, remove = _names(spec, f"roles.{name}", problems), set(), set()
        elif isinstance(spec, Mapping):
            for key in sorted(set(spec) - {"add", "remove"}):
                problems.append(f"roles.{name}: unknown key '{key}' (use 'add' and 'remove', or give a list)")
            wanted = set(table[role])
            add = _names(spec.get("add", []), f"roles.{name}.add", problems)
            remove = _names(spec.get("remove", []), f"roles.{name}.remove", problems)
        else:
            problems.append(f"roles.{name}: give a list of permissions, or a table with 'add' and 'remove'")
            continue
        table[role] = frozenset((wanted | add) - remove)
    if problems:
        raise InvalidRoleTable(problems)
    return table


def _names(value: Any, path: str, problems: list[str]) -> set[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{path}: must be a list of permission names")
        return set()
    for v in value:
        if v not in KNOWN_PERMISSIONS:
            problems.append(f"{path}: unknown permission '{v}'")
    return {v for v in value if v in KNOWN_PERMISSIONS}


def use_role_table(table: Mapping[Role, frozenset[str]]) -> None:
    """Put a checked table in force (in place: whoever holds :data:`ROLE_PERMISSIONS` sees it)."""
    ROLE_PERMISSIONS.clear()
    ROLE_PERMISSIONS.update(table)
