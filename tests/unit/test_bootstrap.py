"""The wiring is in one place: importing registers nothing, bootstrap registers everything once, and a
unit of work refuses to open before it."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import event
from sqlalchemy.orm import Session

from shuzhi.services import bootstrap, cockpit, hooks, scheduler


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_importing_every_part_registers_nothing() -> None:
    run = _python(
        "import pkgutil, importlib, shuzhi.services as s, shuzhi.entrypoints.api.routers\n"
        "for m in pkgutil.walk_packages(s.__path__, 'shuzhi.services.'):\n"
        "    if m.name != 'shuzhi.services.bootstrap': importlib.import_module(m.name)\n"
        "from shuzhi.services import hooks, scheduler, cockpit\n"
        "print(sum(len(x) for x in (hooks.READING_HOOKS, hooks.WARNING_HOOKS, hooks.EVENT_HOOKS,"
        " hooks.TASK_HOOKS, hooks.PLAN_HOOKS)), len(scheduler.PERIODIC_JOBS), len(cockpit.EXTRA_COUNTERS))\n")
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0", "0", "0"]


def test_a_unit_of_work_refuses_to_open_before_bootstrap() -> None:
    run = _python(
        "from shuzhi.adapters.db.engine import make_engine, make_session_factory\n"
        "from shuzhi.services.unit_of_work import UnitOfWork\n"
        "with UnitOfWork(make_session_factory(make_engine('sqlite://'))):\n"
        "    pass\n")
    assert run.returncode != 0 and "bootstrap() was not called" in run.stderr


def test_bootstrap_registers_everything_once_in_its_order() -> None:
    bootstrap.bootstrap()  # the test session's second call
    for hook_list, hook in bootstrap.HOOKS:
        assert hook_list.count(hook) == 1
    assert [h for h in hooks.WARNING_HOOKS if any(h is f for _, f in bootstrap.HOOKS)] == \
        [f for lst, f in bootstrap.HOOKS if lst is hooks.WARNING_HOOKS]
    for name, listener in bootstrap.SESSION_LISTENERS:
        assert event.contains(Session, name, listener)
    names = [job.name for job in scheduler.PERIODIC_JOBS]
    assert len(names) == len(set(names))
    assert [n for n in names if n in {j.name for j in bootstrap.PERIODIC_JOBS}] == \
        [j.name for j in bootstrap.PERIODIC_JOBS]
    assert set(bootstrap.COCKPIT_COUNTERS) <= set(cockpit.EXTRA_COUNTERS)
