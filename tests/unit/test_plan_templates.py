"""Plan templates are checked before they are stored: every problem with the path of its place."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shuzhi.domain.plans import (
    Confirmation,
    InvalidTemplate,
    TriggerKind,
    Vocabulary,
    find_cycle,
    related,
    validate_template,
)
from shuzhi.domain.time_limits import LimitUnit, Urgency

VOCAB = Vocabulary(event_classes=frozenset({"1404", "1407"}), units=frozenset({"D500111-SLJ", "D500111-YJJ"}))


def doc(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "flood", "name": "暴雨洪涝应急预案",
        "trigger": {"kind": "warning", "indicators": ["water.level"], "at_least": "orange"},
        "confirmation": "auto",
        "tasks": [
            {"key": "warn", "title": "发布预警", "role": "unit:D500111-SLJ", "instruction": "发布", "deadline": "1h"},
            {"key": "patrol", "title": "巡查", "role": "town_centre", "instruction": "巡查", "deadline": "2h",
             "after": ["warn"], "checklist": ["河道", "低洼处"]},
            {"key": "evacuate", "title": "转移", "role": "grid_workers", "instruction": "转移", "deadline": "1wd",
             "after": ["patrol"]},
        ],
    }
    base.update(over)
    return base


def problems(d: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidTemplate) as exc:
        validate_template(d, VOCAB)
    return [(p.path, p.code) for p in exc.value.problems]


def test_a_valid_template_reads_back_typed() -> None:
    tpl = validate_template(doc(), VOCAB)
    assert tpl.trigger.kind is TriggerKind.WARNING and tpl.trigger.at_least_level == "orange"
    assert tpl.confirmation is Confirmation.AUTO
    assert [str(t.role) for t in tpl.tasks] == ["unit:D500111-SLJ", "town_centre", "grid_units"]
    assert tpl.task("evacuate").deadline.unit is LimitUnit.WORKING_DAYS
    assert tpl.task("patrol").after == ("warn",) and tpl.task("patrol").checklist == ("河道", "低洼处")


def test_unknown_role_class_unit_and_indicator_are_refused_with_their_path() -> None:
    d = doc(trigger={"kind": "event_class", "classes": ["9999"], "at_least": "urgent"})
    d["tasks"][0]["role"] = "unit:D500111-NOPE"
    d["tasks"][1]["role"] = "mayor"
    found = problems(d)
    assert ("$.trigger.classes[0]", "unknown_value") in found
    assert ("$.tasks[0].role", "unknown_value") in found
    assert ("$.tasks[1].role", "unknown_value") in found
    bad = problems(doc(trigger={"kind": "warning", "indicators": ["水 位"], "at_least": "orange"}))
    assert bad == [("$.trigger.indicators[0]", "format")]
    assert problems(doc(trigger={"kind": "warning", "indicators": ["x"], "at_least": "purple"})) == [
        ("$.trigger.at_least", "unknown_value")]


def test_a_dependency_cycle_is_refused_with_its_path() -> None:
    d = doc()
    d["tasks"][0]["after"] = ["evacuate"]
    with pytest.raises(InvalidTemplate) as exc:
        validate_template(d, VOCAB)
    cycle = [p for p in exc.value.problems if p.code == "cycle"]
    assert len(cycle) == 1 and cycle[0].path == "$.tasks[0].after"
    assert cycle[0].message == "dependency cycle: warn → evacuate → patrol → warn"


def test_unknown_dependency_bad_deadline_and_duplicate_key() -> None:
    d = doc()
    d["tasks"][1]["after"] = ["nobody"]
    d["tasks"][2]["deadline"] = "soon"
    d["tasks"][2]["key"] = "warn"
    found = problems(d)
    assert ("$.tasks[1].after[0]", "unknown_value") in found
    assert ("$.tasks[2].deadline", "time_limit") in found
    assert ("$.tasks[2].key", "duplicate") in found


def test_shape_errors() -> None:
    assert problems([1]) == [("$", "type")]
    assert ("$.tasks", "required") in problems(doc(tasks=[]))
    assert ("$.colour", "unknown_key") in problems(doc(colour="red"))
    assert ("$.confirmation", "unknown_value") in problems(doc(confirmation="maybe"))


def test_triggers_match_level_and_lineage() -> None:
    tpl = validate_template(doc(trigger={"kind": "warning", "indicators": ["SEC.water"], "at_least": "orange"}), VOCAB)
    assert tpl.trigger.matches_warning(("SEC.water", "RW.level", "IND.1"), "red")
    assert tpl.trigger.matches_warning(("SEC.water", "IND.1"), "orange")
    assert not tpl.trigger.matches_warning(("SEC.water",), "yellow")
    assert not tpl.trigger.matches_warning(("SEC.air",), "red")
    assert not tpl.trigger.matches_warning(("SEC.water",), None)
    ev = validate_template(doc(trigger={"kind": "event_class", "classes": ["1404"], "at_least": "urgent"}), VOCAB)
    assert ev.trigger.at_least_urgency is Urgency.URGENT
    assert ev.trigger.matches_event("1404", "critical") and ev.trigger.matches_event("1404", "urgent")
    assert not ev.trigger.matches_event("1404", "normal") and not ev.trigger.matches_event("1407", "critical")


def test_related_is_one_branch_of_the_tree() -> None:
    assert related("/500000/500111/", "/500000/500111/500111001/")
    assert related("/500000/500111/500111001/500111001001/", "/500000/500111/500111001/")
    assert not related("/500000/500111/500111001/", "/500000/500111/500111002/")


@given(st.dictionaries(st.sampled_from("abcdef"), st.lists(st.sampled_from("abcdef"), max_size=3), max_size=6))
def test_find_cycle_returns_a_real_cycle_or_none_when_a_topological_order_exists(edges: dict[str, list[str]]) -> None:
    cycle = find_cycle(edges)
    if cycle is not None:
        assert cycle[0] == cycle[-1] and len(cycle) >= 2
        for a, b in itertools.pairwise(cycle):
            assert b in edges[a]
        return
    # no cycle: Kahn's algorithm must order every node that has edges listed
    nodes = set(edges)
    indeg = {n: sum(1 for d in edges[n] if d in nodes) for n in nodes}
    done = [n for n in nodes if indeg[n] == 0]
    order = []
    while done:
        n = done.pop()
        order.append(n)
        for m in nodes:
            if n in edges[m]:
                indeg[m] -= edges[m].count(n)
                if indeg[m] == 0:
                    done.append(m)
    assert len(order) == len(nodes)
