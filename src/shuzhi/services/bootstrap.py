"""The one place where the parts of shuzhi are wired together: hooks, session listeners, periodic jobs
and cockpit counters.

Nothing registers itself by being imported. Every process calls :func:`bootstrap` once at start-up —
the API app factory (``create_app``), the CLI (``shuzhi …``, and so ``shuzhi worker`` and
``shuzhi serve``), the test fixtures (``tests/conftest.py``) and the benchmark scripts — and a
:class:`~shuzhi.services.unit_of_work.UnitOfWork` refuses to open before it, because a transaction
without the listeners below would silently leave the tasks' supervision clocks behind.

To add a reaction to another part's change, write the function in your module and add one line
below, in the list it belongs to. The order of each list is the order the hooks run in, inside the
transaction of the change (``services/hooks.py``).

Not here, with their reason: the engine's own listeners (``adapters/db/engine.py``: SQLite pragmas,
``BEGIN IMMEDIATE``; installed on each engine as it is made), a table's invariant
(``adapters/db/tables_public_services.py``: a rating is immutable — part of the table like a CHECK
constraint) and the process's built-in metrics gauges (``adapters/metrics.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from shuzhi.config import Settings, get_settings
from shuzhi.domain import permissions
from shuzhi.services import (
    actors,
    cockpit,
    cockpit_counters,
    duty_desk,
    grid_teams,
    hooks,
    reports,
    rollups,
    scheduler,
    supervision_clock,
    webhooks,
)
from shuzhi.services import unit_of_work as uow_module
from shuzhi.services.hotline import hooks as hotline_hooks
from shuzhi.services.hotline import models as hotline_models
from shuzhi.services.ledgers import clocks as ledger_clocks
from shuzhi.services.notices import hooks as notice_hooks
from shuzhi.services.plans import triggers as plan_triggers
from shuzhi.services.scheduler import PeriodicJob, uow_job
from shuzhi.services.security import role_table
from shuzhi.services.sensing import collection, readings, rectification, warning_checks
from shuzhi.services.sensing import warnings as sensing_warnings
from shuzhi.services.window import cases as service_cases
from shuzhi.services.window import ratings as service_ratings
from shuzhi.services.window import whistle as service_whistle

#: Listeners on every :class:`Session` (the class: every session of every engine).
SESSION_LISTENERS: list[tuple[str, Callable[..., Any]]] = [
    # every task change recomputes its supervision clock in the same transaction
    ("after_flush", supervision_clock.after_flush),
    # the warnings' in-memory series state follows the transaction: kept on commit, forgotten on rollback
    ("after_commit", sensing_warnings.forget_touched_on_commit),
    ("after_transaction_end", sensing_warnings.forget_series_on_rollback),
]

#: (hook list, callable) in the order they run.
HOOKS: list[tuple[list[Any], Callable[..., Any]]] = [
    # readings stored by ingest are graded against the threshold rules
    (hooks.READING_HOOKS, sensing_warnings.evaluate_readings),
    # a red (or orange) warning starts a notice chain; a warning at a plan's level starts the plan
    (hooks.WARNING_HOOKS, notice_hooks.on_warning),
    (hooks.WARNING_HOOKS, plan_triggers.on_warning),
    # a series gone silent (the staleness alarm) is told to the indicator's owner (issue #22)
    (hooks.WARNING_HOOKS, collection.on_no_data_warning),
    # a new event: the hotline model's suggestion is recorded; an event of a plan's class starts it
    (hooks.EVENT_HOOKS, hotline_hooks.record_suggestion),
    (hooks.EVENT_HOOKS, plan_triggers.on_event),
    # a task moved: waiting plan tasks released, a service case's next stage, the officer told (报到)
    (hooks.TASK_HOOKS, plan_triggers.on_task_change),
    (hooks.TASK_HOOKS, service_cases.on_task_change),
    (hooks.TASK_HOOKS, service_whistle.on_task_change),
    # a plan started: every unit it gives a task to is notified
    (hooks.PLAN_HOOKS, notice_hooks.on_plan_started),
]

#: Every periodic job the worker runs (``services/scheduler.py``), in the order it tries them.
PERIODIC_JOBS: list[PeriodicJob] = [
    PeriodicJob("webhooks.fan_out", timedelta(seconds=2), webhooks.fan_out),
    # webhook deliveries run in a loop of their own (Worker.run, webhooks.delivery_loop)
    # a silent sensor is itself a warning (no-data rules), checked every minute
    PeriodicJob("warnings.check_no_data", timedelta(minutes=1), uow_job(warning_checks.check_no_data)),
    # raw readings and hourly roll-ups past their retention
    PeriodicJob("readings.purge_expired", timedelta(hours=1), uow_job(readings.purge_expired_as_configured)),
    # the day partitions of raw readings (PostgreSQL), made a week ahead
    PeriodicJob("readings.prepare_partitions", timedelta(hours=1), uow_job(readings.prepare_partitions)),
    # evaluation figures stay exact incrementally; the daily/weekly/monthly reports are made once each
    PeriodicJob("evaluation.refresh_rollups", timedelta(minutes=5), uow_job(rollups.refresh_rollups)),
    PeriodicJob("reports.generate_due", timedelta(minutes=15), uow_job(reports.generate_due_reports)),
    # ledgers (台账): reports owed and time limits — reminders, missing, urge, escalation (docs/ledgers.md)
    PeriodicJob("ledgers.sweep", timedelta(minutes=1), ledger_clocks.sweep_job),
    # nightly in effect: once a day, and only when the history has grown or people corrected the model
    PeriodicJob("hotline.retrain", timedelta(days=1), uow_job(hotline_models.retrain_job)),
    PeriodicJob("notices.escalate", timedelta(seconds=5), notice_hooks.steps_job),
    PeriodicJob("notices.send", timedelta(seconds=1), notice_hooks.send_job),
    # 差评 verification deadlines: call-back and rectification reminders
    PeriodicJob("services.verification_deadlines", timedelta(minutes=5),
                uow_job(service_ratings.remind_verifications)),
    # on-post checks (在岗抽查) past their time limit are recorded as missed, once each
    PeriodicJob("duty.presence_sweep", timedelta(seconds=30), uow_job(duty_desk.sweep_missed)),
    # the grid workers' duty lists (履职清单): each member's items of the current day, week and month
    PeriodicJob("town.duty_items", timedelta(minutes=15), uow_job(grid_teams.generate_due_items)),
    # risk point rectifications: one working day left, deadline passed (issue #22); planned indicators online
    PeriodicJob("risk_points.rectification_sweep", timedelta(minutes=5), uow_job(rectification.sweep)),
    PeriodicJob("collection.mark_online", timedelta(minutes=15), uow_job(collection.mark_online)),
]

#: Figures other parts add to the cockpit (``services/cockpit.py``).
COCKPIT_COUNTERS: dict[str, Callable[..., int | None]] = {
    "warnings_active": cockpit_counters.active_warnings,
    "plans_running": cockpit_counters.running_plans,
}

_done = False


def configure_roles(settings: Settings) -> None:
    """The role table in force: the default or the installation's file (an unusable file stops the
    process here, naming what is wrong), then who may urge when the installation says so
    (``SHUZHI_URGE_ROLES``). People already resolved are resolved again, so a change holds at once."""
    role_table.configure(settings.role_permissions_file)
    permissions.configure_urge_roles(permissions.parse_roles(settings.urge_roles))
    actors.forget_people()


def bootstrap(settings: Settings | None = None) -> None:
    """Wire everything once per process (calling it again adds nothing); ``settings`` are the ones the
    in-process notice sender uses (the API app's; the worker reads the environment), and name the
    installation's role file, if any (read and checked on every call)."""
    global _done
    if settings is not None:
        notice_hooks.configure(settings)
    if settings is not None:
        configure_roles(settings)
    elif not _done:
        configure_roles(get_settings())  # the worker and the CLI: the environment's
    if _done:
        return
    for name, listener in SESSION_LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
    for hook_list, hook in HOOKS:
        if hook not in hook_list:
            hook_list.append(hook)
    known = {job.name for job in scheduler.PERIODIC_JOBS}
    scheduler.PERIODIC_JOBS.extend(job for job in PERIODIC_JOBS if job.name not in known)
    for name, counter in COCKPIT_COUNTERS.items():
        cockpit.EXTRA_COUNTERS.setdefault(name, counter)
    uow_module.mark_bootstrapped()
    _done = True
