"""The service case and the 差评 verification tables row by row, random walks keeping their invariants,
the rates, the rating checks, and the bundles as data (checked when saved, split when applied)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shuzhi.domain.events import IllegalTransition
from shuzhi.domain.ratings import (
    VERIFICATION_TRANSITIONS,
    Grade,
    Level,
    RatingFact,
    VAction,
    VState,
    check_limit_days,
    check_rating,
    grade,
    next_verification_state,
    rates,
)
from shuzhi.domain.service_applications import check_answers, plan_application, valid_id_number
from shuzhi.domain.service_cases import (
    CASE_TRANSITIONS,
    FINAL_CASE_STATES,
    CaseAction,
    CaseState,
    case_action_after_task_change,
    check_checklist,
    next_case_state,
)
from shuzhi.domain.services_catalogue import DocumentInvalid, holds, parse_bundle, parse_matter

S, A, V, VA = CaseState, CaseAction, VState, VAction


@pytest.mark.parametrize(("state", "action", "expected"), [(s, a, t) for (s, a), t in CASE_TRANSITIONS.items()])
def test_case_table_row(state: CaseState, action: CaseAction, expected: CaseState) -> None:
    assert next_case_state(state, action) is expected


@pytest.mark.parametrize(("state", "action"), [(s, a) for s in S for a in A if (s, a) not in CASE_TRANSITIONS])
def test_case_forbidden_pair(state: CaseState, action: CaseAction) -> None:
    with pytest.raises(IllegalTransition, match=f"cannot {action.value}: the case is {state.value}$"):
        next_case_state(state, action)


def test_final_case_states_allow_nothing() -> None:
    assert not [a for (s, a) in CASE_TRANSITIONS if s in FINAL_CASE_STATES]


@given(st.lists(st.sampled_from(list(A)), max_size=30))
def test_case_walks_never_leave_a_final_state_and_complete_only_through_handling(actions: list[CaseAction]) -> None:
    state, seen = S.ACCEPTED, [S.ACCEPTED]
    for a in actions:
        try:
            new = next_case_state(state, a)
        except IllegalTransition:
            continue
        assert state not in FINAL_CASE_STATES
        if new is S.COMPLETED:
            assert S.HANDLING in seen, "a case completes only after its tasks were dispatched"
        if new is S.DELIVERED:
            assert state is S.COMPLETED, "a result is handed over only once the case is completed"
        state = new
        seen.append(state)


@pytest.mark.parametrize(("state", "left", "done", "owed", "expected"), [
    (S.HANDLING, 1, True, False, A.RELEASE_STAGE),
    (S.HANDLING, 0, True, False, A.TASKS_DONE),
    (S.HANDLING, 0, True, True, A.WAIT_MATERIALS),
    (S.HANDLING, 0, False, False, None),
    (S.AWAITING_MATERIALS, 0, True, False, None),
])
def test_what_a_case_does_after_a_task(state: CaseState, left: int, done: bool, owed: bool,
                                       expected: CaseAction | None) -> None:
    assert case_action_after_task_change(state, left, done, owed) is expected


def test_the_checklist_allows_deferral_only_where_the_guide_does() -> None:
    guide = [("id", True, False), ("cert", True, True), ("photo", False, False)]
    assert check_checklist(guide, {"id": "provided", "cert": "deferred"}) == []
    assert check_checklist(guide, {"id": "deferred", "cert": "provided"})[0][0] == "id"
    assert check_checklist(guide, {"id": "provided"})[0] == ("cert", "a required material is not checked")
    assert check_checklist(guide, {"id": "provided", "cert": "provided", "x": "provided"}) == [
        ("x", "not a material of this matter")]


# --- verification ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "action", "expected"),
                         [(s, a, t) for (s, a), t in VERIFICATION_TRANSITIONS.items()])
def test_verification_table_row(state: VState, action: VAction, expected: VState) -> None:
    assert next_verification_state(state, action, named=False) is expected


@pytest.mark.parametrize(("state", "action"),
                         [(s, a) for s in V for a in VA if (s, a) not in VERIFICATION_TRANSITIONS])
def test_verification_forbidden_pair(state: VState, action: VAction) -> None:
    with pytest.raises(IllegalTransition):
        next_verification_state(state, action, named=False)


def test_a_named_bad_rating_must_be_called_back() -> None:
    with pytest.raises(IllegalTransition, match="100%"):
        next_verification_state(V.OPEN, VA.UNREACHABLE, named=True)
    assert next_verification_state(V.OPEN, VA.CALL_BACK, named=True) is V.CALLED_BACK


@given(st.lists(st.sampled_from(list(VA)), max_size=40), st.booleans())
def test_verification_walks(actions: list[VAction], named: bool) -> None:
    """Whatever is tried: closing needs a reply, a reply needs a rectification (or an upheld appeal),
    and a named rating is never closed without a real call-back."""
    state, done = V.OPEN, []
    for a in actions:
        try:
            state = next_verification_state(state, a, named=named)
        except IllegalTransition:
            continue
        done.append(a)
        if state is V.CLOSED:
            assert VA.REPLY in done
            assert VA.RECTIFY in done or VA.UPHOLD_APPEAL in done
            if named:
                assert VA.CALL_BACK in done and VA.UNREACHABLE not in done
    assert state is V.CLOSED or VA.CLOSE not in done


# --- ratings --------------------------------------------------------------------------------------


def test_levels_map_to_good_neutral_bad() -> None:
    assert [grade(x) for x in Level] == [Grade.GOOD, Grade.GOOD, Grade.NEUTRAL, Grade.BAD, Grade.BAD]


@given(st.lists(st.tuples(st.sampled_from(list(Grade)), st.booleans(), st.booleans(), st.booleans()), max_size=50))
def test_rates_stay_between_0_and_1_and_leave_invalid_ratings_out(rows: list[tuple[Grade, bool, bool, bool]]
                                                                  ) -> None:
    facts = [RatingFact(g, invalid=inv and g is Grade.BAD, rectified=rec, on_time=ot and rec)
             for g, inv, rec, ot in rows]
    r = rates(facts)
    assert r.ratings == len(facts)
    assert r.good + r.neutral + r.bad + r.invalid == len(facts)
    for value in (r.good_rate, r.rectification_rate, r.on_time_rate):
        assert value is None or 0 <= value <= 1
    if r.bad:
        assert r.on_time_rate is not None and r.rectification_rate is not None
        assert r.on_time_rate <= r.rectification_rate


GOOD = {"overall": "satisfied", "efficiency": "satisfied", "service_level": "satisfied", "attitude": "satisfied"}


@pytest.mark.parametrize(("channel", "levels", "comment", "field"), [
    ("window", {**GOOD, "overall": "dissatisfied"}, "", "comment"),
    ("online", GOOD, "", "levels.guide_accuracy"),
    ("window", {**GOOD, "speed": "satisfied"}, "", "levels.speed"),
    ("window", [], "", "levels"),
])
def test_rating_checks(channel: str, levels: Any, comment: str, field: str) -> None:
    checked, problems = check_rating(channel, levels, comment, False)
    assert checked is None and problems[0][0] == field


def test_limits_are_1_to_15() -> None:
    assert check_limit_days(1) == check_limit_days(15) == []
    assert check_limit_days(0) and check_limit_days(16) and check_limit_days(True) and check_limit_days("5")


# --- matters and bundles --------------------------------------------------------------------------


def _matter(code: str, dept: str, days: int = 5, **over: Any) -> dict[str, Any]:
    doc = {"code": code, "name": code, "department_code": dept, "legal_basis": "依据", "statutory_days": 20,
           "promised_days": days, "places": ["town"], "materials": [{"code": "id", "name": "身份证"}]}
    doc.update(over)
    return doc


MATTERS = {c: parse_matter(_matter(c, d, n)) for c, d, n in [("A", "D1", 3), ("B", "D2", 5), ("C", "D1", 2),
                                                             ("D", "D3", 4)]}
BUNDLE = {"code": "b", "name": "b", "questions": [{"key": "q", "text": "?"}],
          "fields": [{"key": "name", "label": "姓名"}, {"key": "pid", "label": "身份证", "kind": "id_number"}],
          "items": [{"matter_code": "A", "stage": 1, "fields": ["name", "pid"]},
                    {"matter_code": "B", "stage": 1, "fields": ["name"]},
                    {"matter_code": "C", "stage": 1, "fields": ["pid"]},
                    {"matter_code": "D", "stage": 2, "fields": ["name"], "when": {"question": "q", "equals": "yes"}}]}


@pytest.mark.parametrize(("change", "field"), [
    ({"promised_days": 30}, "$.promised_days"),
    ({"places": ["moon"]}, "$.places[0]"),
    ({"materials": [{"code": "x", "name": "x", "required": False, "deferrable": True}]}, "$.materials[0].deferrable"),
    ({"materials": [{"code": "x", "name": "x"}, {"code": "x", "name": "y"}]}, "$.materials[1].code"),
    ({"legal_basis": ""}, "$.legal_basis"),
])
def test_a_matter_is_checked_when_saved(change: dict[str, Any], field: str) -> None:
    with pytest.raises(DocumentInvalid) as info:
        parse_matter(_matter("X", "D1", **change))
    assert info.value.problems[0].field == field


@pytest.mark.parametrize(("change", "field"), [
    ({"items": [{"matter_code": "A", "stage": 1, "fields": ["name", "pid"]},
                {"matter_code": "Z", "stage": 1, "fields": []}]}, "$.items[1].matter_code"),
    ({"items": [{"matter_code": "A", "stage": 1, "fields": ["name", "pid"]},
                {"matter_code": "B", "stage": 3, "fields": []}]}, "$.items"),
    ({"fields": [{"key": "name", "label": "x"}, {"key": "name", "label": "y"}, {"key": "pid", "label": "z"}]},
     "$.fields[1].key"),
    ({"fields": BUNDLE["fields"] + [{"key": "unused", "label": "没人用"}]}, "$.fields[2].key"),
    ({"items": [*BUNDLE["items"][:3], {"matter_code": "D", "stage": 2, "when": {"question": "q", "equals": "ja"}}]},
     "$.items[3].when.equals"),
    ({"items": [*BUNDLE["items"][:3], {"matter_code": "D", "stage": 2, "when": {"question": "nope", "equals": "y"}}]},
     "$.items[3].when.question"),
])
def test_a_bundle_is_checked_when_saved(change: dict[str, Any], field: str) -> None:
    with pytest.raises(DocumentInvalid) as info:
        parse_bundle({**BUNDLE, **change}, MATTERS)
    assert field in [p.field for p in info.value.problems]


def test_a_bundle_splits_into_one_task_per_department_and_stage() -> None:
    b = parse_bundle(BUNDLE, MATTERS)
    form = {"name": "张三", "pid": "500111199001011232"}
    assert check_answers(b, {"q": "no"}, form) == []
    plan = plan_application(b, MATTERS, {"q": "no"}, form)
    assert [(s.department_code, s.stage, s.matter_codes) for s in plan.shares] == [
        ("D1", 1, ("A", "C")), ("D2", 1, ("B",))]
    assert plan.shares[0].fields == form and plan.shares[1].fields == {"name": "张三"}
    assert plan.skipped == ("D",) and plan.promised_days == 5 and plan.stages == 1
    plan = plan_application(b, MATTERS, {"q": "yes"}, form)
    assert plan.stages == 2 and plan.promised_days == 5 + 4


def test_answers_and_form_are_checked_with_fields() -> None:
    b = parse_bundle(BUNDLE, MATTERS)
    problems = check_answers(b, {"q": "perhaps"}, {})
    assert [p.field for p in problems] == ["answers.q"]
    problems = check_answers(b, {"q": "no"}, {"name": "张三", "pid": "500111199001011237", "x": "1"})
    assert sorted(p.field for p in problems) == ["form.pid", "form.x"]


@given(st.recursive(st.fixed_dictionaries({"question": st.just("q"), "equals": st.sampled_from(["yes", "no"])}),
                    lambda inner: st.one_of(st.fixed_dictionaries({"all": st.lists(inner, min_size=1, max_size=3)}),
                                            st.fixed_dictionaries({"any": st.lists(inner, min_size=1, max_size=3)}),
                                            st.fixed_dictionaries({"not": inner})), max_leaves=6),
       st.sampled_from(["yes", "no"]))
def test_a_condition_and_its_negation_never_both_hold(cond: dict[str, Any], answer: str) -> None:
    assert holds(cond, {"q": answer}) != holds({"not": cond}, {"q": answer})


def test_id_number_check_digit() -> None:
    assert valid_id_number("500111199001011232") and valid_id_number("11010519491231002X")
    assert not valid_id_number("500111199001011237") and not valid_id_number("12345")


@pytest.mark.parametrize("junk", [[], {}, 3, None, ["window"]])
def test_junk_in_any_slot_is_a_problem_not_a_crash(junk: Any) -> None:
    assert check_rating(junk, {"overall": junk}, junk, junk)[0] is None
    with pytest.raises(DocumentInvalid):
        parse_matter(_matter("X", "D1", kind=junk, places=[junk], materials=[junk]))
    with pytest.raises(DocumentInvalid):
        parse_bundle({**BUNDLE, "fields": [{"key": "name", "label": "x", "kind": junk}], "questions": junk}, MATTERS)
