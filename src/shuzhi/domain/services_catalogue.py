"""The catalogue of service matters (事项清单, 办事指南) and the "one thing" bundles (一件事一次办).

A *matter* is one thing a department does on application (a licence, a registration, a benefit),
described by its guide: legal basis, conditions, materials (which are required, which may follow
later under 容缺受理), fees, the department, the statutory and the promised time limits in working
days, and where it can be done (district hall, town point, village point, online).

A *bundle* is a life or business event handled once although several departments act (新生儿出生、
军人退役、工伤 …): its matters, one shared form whose fields are asked once and passed to every
matter that needs them, the stage each matter runs in (same stage = in parallel, a later stage waits
for the earlier ones), and the questionnaire whose answers include or skip matters.

Both are data, checked when saved: :func:`parse_matter` and :func:`parse_bundle` return every problem
with the JSON path of the offending field, so the API can answer 422 with ``field`` and the importer
can name the row and column. Turning a bundle, the answers and the form into the department shares a
case is made of is :mod:`shuzhi.domain.service_applications`. Nothing here touches a database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Place(StrEnum):
    """Where a matter can be applied for (事项办理层级/渠道)."""

    DISTRICT_HALL = "district_hall"  # 区政务服务中心
    TOWN = "town"  # 镇街便民服务中心
    VILLAGE = "village"  # 村（社区）便民服务站
    ONLINE = "online"  # 渝快办 / 网上办


class MatterKind(StrEnum):
    LICENCE = "licence"  # 行政许可
    PUBLIC_SERVICE = "public_service"  # 公共服务
    CONFIRMATION = "confirmation"  # 行政确认
    BENEFIT = "benefit"  # 行政给付
    OTHER = "other"  # 其他行政权力


PLACE_LABELS = {Place.DISTRICT_HALL: "区政务服务中心", Place.TOWN: "镇街便民服务中心",
                Place.VILLAGE: "村（社区）便民服务站", Place.ONLINE: "网上办"}

#: The longest promised or statutory limit a guide may state (a year of working days).
MAX_DAYS = 250
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document, at a JSON path like ``$.materials[2].deferrable``."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class DocumentInvalid(ValueError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in self.problems))


@dataclass(frozen=True)
class Material:
    code: str
    name: str
    required: bool = True
    #: may be accepted now and supplied later (容缺受理); only a required material can be deferred
    deferrable: bool = False
    #: copies and form (原件/复印件), free text
    note: str = ""


@dataclass(frozen=True)
class MatterGuide:
    code: str
    name: str
    department_code: str
    kind: MatterKind
    legal_basis: str
    conditions: str
    materials: tuple[Material, ...]
    fee: str
    statutory_days: int
    promised_days: int
    places: tuple[Place, ...]
    #: words a clerk may type for it (俗称): "准生证" finds 生育登记
    keywords: str = ""
    #: days a deferred (容缺) material may follow, counted in working days from acceptance
    deferral_days: int = 5
    #: 一枚印章管审批: the approval bureau (行政审批局) that approves this matter and seals the decision on
    #: the department's behalf, where the matter's approval power was moved to it; None: the department
    approved_by: str | None = None

    @property
    def acting_unit(self) -> str:
        """The unit whose task the matter is: the approval bureau where it approves, else the department."""
        return self.approved_by or self.department_code

    def material(self, code: str) -> Material | None:
        return next((m for m in self.materials if m.code == code), None)


def _text(doc: Mapping[str, Any], key: str, path: str, problems: list[Problem], *, required: bool = True,
          limit: int = 2000) -> str:
    value = doc.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(Problem(f"{path}.{key}", "is required"))
        return ""
    if not isinstance(value, str):
        problems.append(Problem(f"{path}.{key}", "must be text"))
        return ""
    if len(value) > limit:
        problems.append(Problem(f"{path}.{key}", f"is longer than {limit} characters"))
    return value.strip()


def _days(doc: Mapping[str, Any], key: str, path: str, problems: list[Problem]) -> int:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(Problem(f"{path}.{key}", "must be a whole number of working days"))
        return 0
    if not 1 <= value <= MAX_DAYS:
        problems.append(Problem(f"{path}.{key}", f"must be between 1 and {MAX_DAYS} working days"))
    return value


def _flag(doc: Mapping[str, Any], key: str, path: str, problems: list[Problem], default: bool) -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        problems.append(Problem(f"{path}.{key}", "must be true or false"))
        return default
    return value


def parse_matter(doc: Any, departments: Mapping[str, str] | None = None) -> MatterGuide:
    """A checked guide, or :class:`DocumentInvalid` with every problem.

    ``departments`` maps the known department codes to names; a guide naming another is refused.
    Rules: the promised limit may not exceed the statutory one (承诺时限 ≤ 法定时限); material codes are
    unique; only a required material can be deferred (an optional one is simply left out); at least
    one place.
    """
    problems: list[Problem] = []
    if not isinstance(doc, Mapping):
        raise DocumentInvalid([Problem("$", "must be an object")])
    code = _text(doc, "code", "$", problems, limit=40)
    if code and not _CODE.match(code):
        problems.append(Problem("$.code", "letters, digits, '.', '_' or '-' (at most 40)"))
    name = _text(doc, "name", "$", problems, limit=200)
    dept = _text(doc, "department_code", "$", problems, limit=40)
    if dept and departments is not None and dept not in departments:
        problems.append(Problem("$.department_code", f"unknown department '{dept}'"))
    approved_by = _text(doc, "approved_by", "$", problems, required=False, limit=40) or None
    if approved_by and departments is not None and approved_by not in departments:
        problems.append(Problem("$.approved_by", f"unknown unit '{approved_by}'"))
    if approved_by and approved_by == dept:
        problems.append(Problem("$.approved_by", "the approval bureau approves on another department's behalf"))
    try:
        kind = MatterKind(str(doc.get("kind", "public_service")))
    except ValueError:
        problems.append(Problem("$.kind", f"one of {', '.join(k.value for k in MatterKind)}"))
        kind = MatterKind.OTHER
    statutory = _days(doc, "statutory_days", "$", problems)
    promised = _days(doc, "promised_days", "$", problems)
    if statutory and promised and promised > statutory:
        problems.append(Problem("$.promised_days",
                                f"the promised limit ({promised}) is longer than the statutory one ({statutory})"))
    deferral = doc.get("deferral_days", 5)
    if isinstance(deferral, bool) or not isinstance(deferral, int) or not 1 <= deferral <= 30:
        problems.append(Problem("$.deferral_days", "must be between 1 and 30 working days"))
        deferral = 5
    materials = _materials(doc.get("materials"), problems)
    places = _places(doc.get("places"), problems)
    guide = MatterGuide(
        code=code, name=name, department_code=dept, kind=kind,
        legal_basis=_text(doc, "legal_basis", "$", problems),
        conditions=_text(doc, "conditions", "$", problems, required=False),
        materials=materials, fee=_text(doc, "fee", "$", problems, required=False, limit=200) or "不收费",
        statutory_days=statutory, promised_days=promised, places=places,
        keywords=_text(doc, "keywords", "$", problems, required=False, limit=200), deferral_days=deferral,
        approved_by=approved_by)
    if problems:
        raise DocumentInvalid(problems)
    return guide


def _materials(raw: Any, problems: list[Problem]) -> tuple[Material, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(Problem("$.materials", "must be a list"))
        return ()
    out: list[Material] = []
    seen: set[str] = set()
    for i, m in enumerate(raw):
        path = f"$.materials[{i}]"
        if not isinstance(m, Mapping):
            problems.append(Problem(path, "must be an object"))
            continue
        code = _text(m, "code", path, problems, limit=40)
        if code in seen:
            problems.append(Problem(f"{path}.code", f"'{code}' is listed twice"))
        seen.add(code)
        required = _flag(m, "required", path, problems, True)
        deferrable = _flag(m, "deferrable", path, problems, False)
        if deferrable and not required:
            problems.append(Problem(f"{path}.deferrable", "only a required material can be deferred (容缺)"))
        out.append(Material(code, _text(m, "name", path, problems, limit=200), required, deferrable,
                            _text(m, "note", path, problems, required=False, limit=200)))
    return tuple(out)


def _places(raw: Any, problems: list[Problem]) -> tuple[Place, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(Problem("$.places", "name at least one of " + ", ".join(p.value for p in Place)))
        return ()
    out: list[Place] = []
    for i, p in enumerate(raw):
        try:
            place = Place(p if isinstance(p, str) else "")
        except ValueError:
            problems.append(Problem(f"$.places[{i}]", f"unknown place '{p}'"))
            continue
        if place not in out:
            out.append(place)
    return tuple(out)


def matter_to_doc(g: MatterGuide) -> dict[str, Any]:
    return {"code": g.code, "name": g.name, "department_code": g.department_code, "kind": g.kind.value,
            "legal_basis": g.legal_basis, "conditions": g.conditions, "fee": g.fee,
            "statutory_days": g.statutory_days, "promised_days": g.promised_days,
            "places": [p.value for p in g.places], "keywords": g.keywords, "deferral_days": g.deferral_days,
            "materials": [{"code": m.code, "name": m.name, "required": m.required, "deferrable": m.deferrable,
                           "note": m.note} for m in g.materials],
            **({"approved_by": g.approved_by} if g.approved_by else {})}


# --- bundles ---------------------------------------------------------------------------------------


class FieldKind(StrEnum):
    TEXT = "text"
    DATE = "date"
    PHONE = "phone"
    ID_NUMBER = "id_number"
    CHOICE = "choice"
    NUMBER = "number"


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    #: the answers allowed; a yes/no question has ("yes", "no")
    options: tuple[str, ...] = ("yes", "no")


@dataclass(frozen=True)
class FormField:
    key: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = True
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class BundleItem:
    matter_code: str
    #: 1, 2, …: items of one stage run in parallel; stage n+1 starts when stage n is done
    stage: int
    #: the shared form's fields this matter's department receives
    fields: tuple[str, ...]
    #: None = always; else a condition tree over the questionnaire's answers
    when: Any = None


@dataclass(frozen=True)
class Bundle:
    code: str
    name: str
    description: str
    questions: tuple[Question, ...]
    fields: tuple[FormField, ...]
    items: tuple[BundleItem, ...]

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)


_OPS = ("equals", "in")


def check_condition(cond: Any, questions: Mapping[str, Question], path: str, problems: list[Problem]) -> None:
    """A condition is ``{"question": k, "equals": v}``, ``{"question": k, "in": [v…]}``,
    ``{"all": [...]}``, ``{"any": [...]}`` or ``{"not": {...}}``; every answer named must be one the
    question allows, so a typo cannot silently skip a matter for everyone."""
    if not isinstance(cond, Mapping) or len(cond) == 0:
        problems.append(Problem(path, "must be a condition object"))
        return
    if "all" in cond or "any" in cond:
        key = "all" if "all" in cond else "any"
        parts = cond[key]
        if len(cond) != 1 or not isinstance(parts, list) or not parts:
            problems.append(Problem(f"{path}.{key}", "must be the only key, with a non-empty list"))
            return
        for i, part in enumerate(parts):
            check_condition(part, questions, f"{path}.{key}[{i}]", problems)
        return
    if "not" in cond:
        if len(cond) != 1:
            problems.append(Problem(f"{path}.not", "must be the only key"))
            return
        check_condition(cond["not"], questions, f"{path}.not", problems)
        return
    qkey = cond.get("question")
    q = questions.get(qkey) if isinstance(qkey, str) else None
    if q is None:
        problems.append(Problem(f"{path}.question", f"unknown question {cond.get('question')!r}"))
        return
    ops = [k for k in cond if k != "question"]
    if len(ops) != 1 or ops[0] not in _OPS:
        problems.append(Problem(path, "needs exactly one of 'equals' or 'in'"))
        return
    values = cond[ops[0]] if ops[0] == "in" else [cond[ops[0]]]
    if not isinstance(values, list) or not values:
        problems.append(Problem(f"{path}.in", "must be a non-empty list"))
        return
    for v in values:
        if v not in q.options:
            problems.append(Problem(f"{path}.{ops[0]}", f"{v!r} is not an answer of '{q.key}' "
                                                       f"({', '.join(q.options)})"))


def holds(cond: Any, answers: Mapping[str, str]) -> bool:
    """Evaluate a checked condition; an unanswered question makes its leaf false."""
    if cond is None:
        return True
    if "all" in cond:
        return all(holds(c, answers) for c in cond["all"])
    if "any" in cond:
        return any(holds(c, answers) for c in cond["any"])
    if "not" in cond:
        return not holds(cond["not"], answers)
    answer = answers.get(cond["question"])
    if "equals" in cond:
        return bool(answer == cond["equals"])
    return answer in list(cond["in"])


def parse_bundle(doc: Any, matters: Mapping[str, MatterGuide]) -> Bundle:
    """A checked bundle, or :class:`DocumentInvalid` with every problem and its path.

    Rules: known matters, each once; stages 1…n without gaps; every field a matter receives is
    defined, and every field is used by some matter (asked once, passed to everyone who needs it —
    and never asked for nothing); conditions name known questions and allowed answers; at least two
    matters (one matter is not a bundle).
    """
    problems: list[Problem] = []
    if not isinstance(doc, Mapping):
        raise DocumentInvalid([Problem("$", "must be an object")])
    code = _text(doc, "code", "$", problems, limit=40)
    if code and not _CODE.match(code):
        problems.append(Problem("$.code", "letters, digits, '.', '_' or '-' (at most 40)"))
    name = _text(doc, "name", "$", problems, limit=200)
    questions = _questions(doc.get("questions", []), problems)
    fields = _fields(doc.get("fields", []), problems)
    qmap = {q.key: q for q in questions}
    fmap = {f.key: f for f in fields}
    items = _items(doc.get("items"), matters, qmap, fmap, problems)
    used = {k for it in items for k in it.fields}
    for i, f in enumerate(fields):
        if f.key not in used:
            problems.append(Problem(f"$.fields[{i}].key", f"field '{f.key}' is passed to no matter"))
    if problems:
        raise DocumentInvalid(problems)
    return Bundle(code, name, _text(doc, "description", "$", problems, required=False), questions, fields,
                  items)


def _questions(raw: Any, problems: list[Problem]) -> tuple[Question, ...]:
    if not isinstance(raw, list):
        problems.append(Problem("$.questions", "must be a list"))
        return ()
    out: list[Question] = []
    for i, q in enumerate(raw):
        path = f"$.questions[{i}]"
        if not isinstance(q, Mapping):
            problems.append(Problem(path, "must be an object"))
            continue
        key = _text(q, "key", path, problems, limit=40)
        if key and not _KEY.match(key):
            problems.append(Problem(f"{path}.key", "lower-case letters, digits and '_', starting with a letter"))
        if any(o.key == key for o in out):
            problems.append(Problem(f"{path}.key", f"'{key}' is asked twice"))
        options = q.get("options", ["yes", "no"])
        if not isinstance(options, list) or len(options) < 2 or not all(isinstance(o, str) and o for o in options) \
                or len(set(options)) != len(options):
            problems.append(Problem(f"{path}.options", "at least two distinct answers"))
            options = ["yes", "no"]
        out.append(Question(key, _text(q, "text", path, problems, limit=200), tuple(options)))
    return tuple(out)


def _fields(raw: Any, problems: list[Problem]) -> tuple[FormField, ...]:
    if not isinstance(raw, list):
        problems.append(Problem("$.fields", "must be a list"))
        return ()
    out: list[FormField] = []
    for i, f in enumerate(raw):
        path = f"$.fields[{i}]"
        if not isinstance(f, Mapping):
            problems.append(Problem(path, "must be an object"))
            continue
        key = _text(f, "key", path, problems, limit=40)
        if key and not _KEY.match(key):
            problems.append(Problem(f"{path}.key", "lower-case letters, digits and '_', starting with a letter"))
        if any(o.key == key for o in out):
            problems.append(Problem(f"{path}.key", f"field '{key}' is asked twice (ask once, pass it on)"))
        try:
            kind = FieldKind(str(f.get("kind", "text")))
        except ValueError:
            problems.append(Problem(f"{path}.kind", f"one of {', '.join(k.value for k in FieldKind)}"))
            kind = FieldKind.TEXT
        options = f.get("options", [])
        if kind is FieldKind.CHOICE and (not isinstance(options, list) or len(options) < 2):
            problems.append(Problem(f"{path}.options", "a choice needs at least two options"))
            options = []
        out.append(FormField(key, _text(f, "label", path, problems, limit=100), kind,
                             _flag(f, "required", path, problems, True), tuple(str(o) for o in options or ())))
    return tuple(out)


def _items(raw: Any, matters: Mapping[str, MatterGuide], questions: Mapping[str, Question],
           fields: Mapping[str, FormField], problems: list[Problem]) -> tuple[BundleItem, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        problems.append(Problem("$.items", "a bundle lists at least two matters"))
        return ()
    out: list[BundleItem] = []
    for i, it in enumerate(raw):
        path = f"$.items[{i}]"
        if not isinstance(it, Mapping):
            problems.append(Problem(path, "must be an object"))
            continue
        code = it.get("matter_code")
        if not isinstance(code, str) or code not in matters:
            problems.append(Problem(f"{path}.matter_code", f"unknown matter {code!r}"))
        elif any(o.matter_code == code for o in out):
            problems.append(Problem(f"{path}.matter_code", f"matter '{code}' is listed twice"))
        stage = it.get("stage", 1)
        if isinstance(stage, bool) or not isinstance(stage, int) or not 1 <= stage <= 20:
            problems.append(Problem(f"{path}.stage", "a whole number from 1 to 20"))
            stage = 1
        keys = it.get("fields", [])
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            problems.append(Problem(f"{path}.fields", "a list of field keys"))
            keys = []
        for j, k in enumerate(keys):
            if k not in fields:
                problems.append(Problem(f"{path}.fields[{j}]", f"unknown field '{k}'"))
        when = it.get("when")
        if when is not None:
            check_condition(when, questions, f"{path}.when", problems)
        out.append(BundleItem(str(code), stage, tuple(dict.fromkeys(keys)), when))
    stages = sorted({it.stage for it in out})
    if stages and stages != list(range(1, len(stages) + 1)):
        problems.append(Problem("$.items", f"stages must run 1, 2, … without gaps (found {stages})"))
    return tuple(out)


def bundle_to_doc(b: Bundle) -> dict[str, Any]:
    return {"code": b.code, "name": b.name, "description": b.description,
            "questions": [{"key": q.key, "text": q.text, "options": list(q.options)} for q in b.questions],
            "fields": [{"key": f.key, "label": f.label, "kind": f.kind.value, "required": f.required,
                        **({"options": list(f.options)} if f.options else {})} for f in b.fields],
            "items": [{"matter_code": it.matter_code, "stage": it.stage, "fields": list(it.fields),
                       **({"when": it.when} if it.when is not None else {})} for it in b.items]}
