"""Play scripted events through the real services, as the people named in each step.

Nothing is written behind the services' backs: the demo's history is exactly what duty officers,
handlers and grid workers would have produced by hand, timeline included.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from shuzhi.demo.history import ScriptedEvent, Step
from shuzhi.domain.events import TaskRole, TaskState
from shuzhi.services import commands as c
from shuzhi.services import handling, supervision, task_handling
from shuzhi.services.actors import Actor, resolve_actor
from shuzhi.services.errors import ServiceError
from shuzhi.services.intake import submit_event
from shuzhi.services.unit_of_work import UnitOfWork


class Replayer:
    """Applies scripted steps; remembers each script's event number so merges can find their master."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork]) -> None:
        self._uow = uow_factory
        self._actors: dict[str, Actor] = {}
        self.numbers: list[str | None] = []
        self.failures: list[str] = []

    def actor(self, code: str) -> Actor:
        if code not in self._actors:
            with self._uow() as uow:
                self._actors[code] = resolve_actor(uow.session, code)
        return self._actors[code]

    def submit(self, script: ScriptedEvent, index: int | None = None) -> str:
        fields = {k: v for k, v in script.intake.items() if k != "actor"}
        cmd = c.SubmitEvent.model_validate({**fields, "received_at": script.at})
        actor = self.actor(str(script.intake.get("actor", "system")))
        key = f"demo-{index}" if index is not None else None
        return submit_event(self._uow(), cmd, actor, now=script.at, intake_key=key).number

    def play(self, scripts: list[ScriptedEvent], until: datetime | None = None,
             progress: Callable[[int], None] | None = None,
             on_time: Callable[[datetime], None] | None = None) -> list[tuple[str, Step]]:
        """Submit every script and apply its steps up to ``until``; returns the steps still to come.

        With ``on_time`` (the supervision sweep, for instance) everything happens in the order of time
        across all scripts, and ``on_time(at)`` is called before each action, so that what the clock
        does between people's actions — reminders, overdue notices, escalations — happens in the
        history too, at its time.
        """
        if on_time is not None:
            return self._play_in_time_order(scripts, until, progress, on_time)
        pending: list[tuple[str, Step]] = []
        for i, script in enumerate(scripts):
            if until is not None and script.at > until:
                break  # later reports have not arrived yet; the live loop brings new ones
            number = self.submit(script, i)
            self.numbers.append(number)
            for step in script.steps:
                if until is not None and step.at > until:
                    pending.append((number, step))
                else:
                    self.apply(number, step)
            if progress is not None:
                progress(i + 1)
        return pending

    def _play_in_time_order(self, scripts: list[ScriptedEvent], until: datetime | None,
                            progress: Callable[[int], None] | None,
                            on_time: Callable[[datetime], None]) -> list[tuple[str, Step]]:
        timeline: list[tuple[datetime, int, int, Step | None]] = []
        for i, script in enumerate(scripts):
            if until is not None and script.at > until:
                break
            timeline.append((script.at, i, -1, None))
            timeline += [(step.at, i, j, step) for j, step in enumerate(script.steps)]
        timeline.sort(key=lambda item: (item[0], item[1], item[2]))
        pending: list[tuple[str, Step]] = []
        numbers: dict[int, str] = {}
        submitted = 0
        for at, i, _, step in timeline:
            if step is None:
                on_time(at)
                numbers[i] = self.submit(scripts[i], i)
                self.numbers.append(numbers[i])
                submitted += 1
                if progress is not None:
                    progress(submitted)
            elif until is not None and at > until:
                pending.append((numbers[i], step))
            else:
                on_time(at)
                self.apply(numbers[i], step)
        pending.sort(key=lambda p: p[1].at)
        return pending

    def _task_id(self, number: str, step: Step, actor: Actor, states: set[TaskState]) -> int:
        unit_code = step.params.get("unit_code")
        with self._uow() as uow:
            event = handling.load_event(uow.session, number)
            tasks = [t for t in event.tasks if TaskState(t.state) in states]
            for pick in (
                lambda t: unit_code is not None and t.unit.code == unit_code,
                lambda t: t.unit_id == actor.unit_id,
                lambda t: t.role == TaskRole.LEAD.value,
                lambda t: True,
            ):
                found = [t for t in tasks if pick(t)]
                if found:
                    return found[0].id
        raise ServiceError(f"no task in {sorted(s.value for s in states)} for step {step.action} of {number}")

    def apply(self, number: str, step: Step) -> None:
        """Apply one step; a step the state no longer allows is recorded, not fatal (a live demo goes on)."""
        try:
            self._apply(number, step)
        except ServiceError as exc:
            self.failures.append(f"{number} {step.action}: {exc.message}")

    def _apply(self, number: str, step: Step) -> None:
        actor = self.actor(step.actor)
        p: dict[str, Any] = dict(step.params)
        at = step.at
        uow = self._uow()
        a = step.action
        if a == "dispatch":
            handling.dispatch(uow, number, c.Dispatch(units=[c.UnitAssignment(**u) for u in p["units"]],
                                                      reason=p.get("reason")), actor, now=at)
        elif a == "notify":
            codes = p.get("unit_codes") or [u["unit_code"] for u in p.get("units", [])]
            handling.notify(uow, number, c.Notify(unit_codes=codes), actor, now=at)
        elif a == "read":
            tid = self._task_id(number, step, actor, {TaskState.NOTIFIED})
            task_handling.read_task(uow, number, tid, actor, now=at)
        elif a == "accept":
            tid = self._task_id(number, step, actor, {TaskState.DISPATCHED})
            task_handling.accept_task(uow, number, tid, c.OptionalReason(), actor, now=at)
        elif a == "return":
            tid = self._task_id(number, step, actor, {TaskState.DISPATCHED})
            task_handling.return_task(uow, number, tid, c.WithReason(reason=str(p.get("reason", "非本单位职责"))),
                                 actor, now=at)
        elif a == "request_extension":
            tid = self._task_id(number, step, actor, {TaskState.ACCEPTED})
            task_handling.request_extension(uow, number, tid, c.RequestExtension(
                until=p["until"], reason=str(p.get("reason", "需协调多部门，申请延期"))), actor, now=at)
        elif a in ("approve_extension", "deny_extension"):
            tid = self._task_id(number, step, actor, {TaskState.EXTENSION_REQUESTED})
            task_handling.decide_extension(uow, number, tid, c.DecideExtension(
                approve=a == "approve_extension", reason=p.get("reason")), actor, now=at)
        elif a == "suspend":
            tid = self._task_id(number, step, actor, {TaskState.ACCEPTED})
            task_handling.suspend_task(uow, number, tid, c.WithReason(reason=str(p.get("reason", "等待天气好转"))),
                                  actor, now=at)
        elif a == "resume":
            tid = self._task_id(number, step, actor, {TaskState.SUSPENDED})
            task_handling.resume_task(uow, number, tid, c.OptionalReason(reason=p.get("reason")), actor, now=at)
        elif a == "report_back":
            tid = self._task_id(number, step, actor, {TaskState.ACCEPTED})
            task_handling.report_back(uow, number, tid, c.ReportBack(result=str(p.get("result", "已处置完毕"))),
                                 actor, now=at)
        elif a == "self_handle":
            handling.self_handle(uow, number, c.SelfHandle(result=str(p.get("result", "已现场处置"))), actor, now=at)
        elif a == "verify":
            handling.verify(uow, number, c.Verify(passed=True, reason=p.get("reason")), actor, now=at)
        elif a == "rework":
            handling.verify(uow, number, c.Verify(passed=False, reason=str(p.get("reason", "现场核查未整改到位"))),
                            actor, now=at)
        elif a == "close":
            handling.close(uow, number, c.OptionalReason(reason=p.get("reason")), actor, now=at)
        elif a == "callback":
            handling.callback(uow, number, c.Callback(satisfied=bool(p.get("satisfied", True)),
                                                      comment=p.get("comment")), actor, now=at)
        elif a == "merge":
            master = self.numbers[int(p["master_index"])]
            if master is None:
                raise ServiceError(f"merge target {p['master_index']} was not created")
            handling.merge(uow, number, c.Merge(master_number=master, reason=p.get("reason")), actor, now=at)
        elif a == "cancel":
            handling.cancel(uow, number, c.WithReason(reason=str(p.get("reason", "重复或无效信息"))), actor, now=at)
        elif a == "urge":
            supervision.urge(uow, number, supervision.UrgeCommand(
                instruction=str(p.get("instruction", "请加快办理，按期办结并反馈")), due_at=p["due_at"]), actor, now=at)
        elif a == "escalate":
            tid = self._task_id(number, step, actor, {TaskState.DISPATCHED, TaskState.ACCEPTED})
            supervision.escalate_task(uow, number, tid, c.WithReason(reason=str(p.get("reason", "超出本单位处置能力"))),
                                      actor, now=at)
        elif a == "reclassify":
            handling.reclassify(uow, number, c.Reclassify(event_class_code=str(p["event_class_code"]),
                                                          reason=str(p.get("reason", "分类有误，重新分类"))),
                                actor, now=at)
        else:
            raise ServiceError(f"unknown scripted action '{a}'")
