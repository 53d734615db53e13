"""Applying for a matter or a bundle (一件事一次办): which departments do what, in which stage.

:func:`check_answers` checks the questionnaire's answers and the shared form (required fields, phone
numbers, dates, ID numbers with their check digit); :func:`plan_application` turns a bundle, the
answers and the form into the department shares a case is made of — matters whose condition does not
hold are skipped, each department of a stage gets one share with the form fields its matters need,
and the promise is the longest of each stage, summed. Nothing here touches a database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shuzhi.domain.services_catalogue import Bundle, BundleItem, FieldKind, FormField, MatterGuide, Problem, holds

_PHONE = re.compile(r"^1\d{10}$|^0\d{2,3}-?\d{7,8}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Share:
    """One department's part of a case in one stage: its matters and the form fields it receives.

    ``department_code`` is the unit that acts: the matters' department, or the approval bureau
    (行政审批局) for the matters it approves on the departments' behalf (一枚印章管审批)."""

    department_code: str
    stage: int
    matter_codes: tuple[str, ...]
    fields: dict[str, str]
    promised_days: int


@dataclass(frozen=True)
class ApplicationPlan:
    shares: tuple[Share, ...]
    skipped: tuple[str, ...]
    #: working days from acceptance to the promised date: the longest promise of each stage, summed
    promised_days: int
    stages: int = field(default=1)


def check_answers(b: Bundle, answers: Any, form: Any) -> list[Problem]:
    """Every question answered with an allowed answer; the form's required fields present and well
    formed (only those of the matters that the answers include)."""
    problems: list[Problem] = []
    if not isinstance(answers, Mapping):
        return [Problem("answers", "must be an object")]
    if not isinstance(form, Mapping):
        return [Problem("form", "must be an object")]
    for q in b.questions:
        a = answers.get(q.key)
        if a is None:
            problems.append(Problem(f"answers.{q.key}", f"「{q.text}」 is not answered"))
        elif a not in q.options:
            problems.append(Problem(f"answers.{q.key}", f"{a!r} is not one of {', '.join(q.options)}"))
    for k in answers:
        if b.question(k) is None:
            problems.append(Problem(f"answers.{k}", "unknown question"))
    if problems:
        return problems
    needed = {k for it in b.items if holds(it.when, answers) for k in it.fields}
    known = {f.key for f in b.fields}
    for k in form:
        if k not in known:
            problems.append(Problem(f"form.{k}", "unknown field"))
    for f in b.fields:
        v = form.get(f.key)
        if v is None or (isinstance(v, str) and not v.strip()):
            if f.required and f.key in needed:
                problems.append(Problem(f"form.{f.key}", f"「{f.label}」 is required"))
            continue
        if not isinstance(v, str | int | float) or isinstance(v, bool):
            problems.append(Problem(f"form.{f.key}", "must be text or a number"))
            continue
        text = str(v).strip()
        problems.extend(_check_value(f, text))
    return problems


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def valid_id_number(text: str) -> bool:
    """An 18-character resident identity number with a correct GB 11643-1999 check character."""
    t = text.strip().upper()
    if len(t) != 18 or not t[:17].isdigit() or not (t[17].isdigit() or t[17] == "X"):
        return False
    return _ID_CHECK[sum(int(c) * w for c, w in zip(t[:17], _ID_WEIGHTS, strict=True)) % 11] == t[17]


def _check_value(f: FormField, text: str) -> list[Problem]:
    path = f"form.{f.key}"
    if f.kind is FieldKind.PHONE and not _PHONE.match(text):
        return [Problem(path, "not a phone number")]
    if f.kind is FieldKind.DATE and not _DATE.match(text):
        return [Problem(path, "a date YYYY-MM-DD")]
    if f.kind is FieldKind.ID_NUMBER and not valid_id_number(text):
        return [Problem(path, "not a valid 18-digit resident ID number (check digit)")]
    if f.kind is FieldKind.CHOICE and text not in f.options:
        return [Problem(path, f"one of {', '.join(f.options)}")]
    if f.kind is FieldKind.NUMBER:
        try:
            float(text)
        except ValueError:
            return [Problem(path, "must be a number")]
    if len(text) > 500:
        return [Problem(path, "longer than 500 characters")]
    return []


def plan_application(b: Bundle, matters: Mapping[str, MatterGuide], answers: Mapping[str, str],
                     form: Mapping[str, Any]) -> ApplicationPlan:
    """Split an application into department shares (call :func:`check_answers` first).

    One share per department and stage ("a task per department"): a department with two matters in
    one stage gets one task listing both and the union of their fields. The promised date is the sum
    over stages of the longest promised limit in the stage (stages run one after another, the
    matters of a stage side by side)."""
    included = [it for it in b.items if holds(it.when, answers)]
    skipped = tuple(it.matter_code for it in b.items if not holds(it.when, answers))
    groups: dict[tuple[int, str], list[BundleItem]] = {}
    for it in included:
        groups.setdefault((it.stage, matters[it.matter_code].acting_unit), []).append(it)
    shares = []
    for (stage, dept), its in sorted(groups.items()):
        keys = dict.fromkeys(k for it in its for k in it.fields)
        values = {k: str(form[k]).strip() for k in keys if form.get(k) not in (None, "")}
        shares.append(Share(dept, stage, tuple(it.matter_code for it in its), values,
                            max(matters[it.matter_code].promised_days for it in its)))
    by_stage: dict[int, int] = {}
    for sh in shares:
        by_stage[sh.stage] = max(by_stage.get(sh.stage, 0), sh.promised_days)
    # stages renumbered 1…n over the included matters: a skipped stage must not stall the case
    order = {s: i + 1 for i, s in enumerate(sorted(by_stage))}
    shares = [Share(sh.department_code, order[sh.stage], sh.matter_codes, sh.fields, sh.promised_days)
              for sh in shares]
    return ApplicationPlan(tuple(shares), skipped, sum(by_stage.values()), len(by_stage))


def single_matter_plan(g: MatterGuide) -> ApplicationPlan:
    """A case for one matter: one share for its department."""
    return ApplicationPlan((Share(g.acting_unit, 1, (g.code,), {}, g.promised_days),), (), g.promised_days, 1)
