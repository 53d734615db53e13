"""The compiled unit directory answers as the unit tables do, and a committed change reaches the next
decision through the change stamps (issue #16: a decision's p99 ≤ 2 ms needs the organisation in memory).

Runs on SQLite and PostgreSQL: the stamps are written by triggers of each engine."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Area, ChangeStamp, DispatchRuleVersion, Unit, UnitCoverage, UnitDuty
from shuzhi.domain.rules import Rule, RuleSet, decide
from shuzhi.services.dispatching.deciding import decision_inputs
from shuzhi.services.dispatching.directory import CompiledDirectory, SqlDirectory, stamps, unit_directory
from tests.factories import World

KINDS = ("department", "centre", "village", "grid")
LEVELS = ("district", "town", "village", "grid")


def _grow(s: Session, world: World, seed: int) -> None:
    """Thirty more units of every kind and level over the world's areas, some inactive, with random
    duties and coverages: holders at several depths for every class."""
    rng = random.Random(seed)
    areas = list(world.areas.values())
    classes = list(world.classes.values())
    for n in range(30):
        home = rng.choice(areas)
        u = Unit(code=f"X{n:03d}", name=f"单位{n}", kind=rng.choice(KINDS), level=rng.choice(LEVELS),
                 area_id=home.id, active=rng.random() > 0.15)
        s.add(u)
        s.flush()
        s.add_all(UnitDuty(unit_id=u.id, event_class_id=c.id) for c in rng.sample(classes, rng.randint(0, 3)))
        s.add_all(UnitCoverage(unit_id=u.id, area_id=a.id) for a in rng.sample(areas, rng.randint(0, 3)))
    s.commit()


def _answers(d: CompiledDirectory | SqlDirectory, s: Session) -> dict[str, object]:
    paths = [a.path for a in s.scalars(select(Area))] + ["/500000/500111/999/"]
    codes = [u.code for u in s.scalars(select(Unit))] + ["NOPE"]
    classes = ["0101", "0201", "0301", "9001", "7777"]
    return {
        "unit": {c: d.unit(c) for c in codes},
        "holders": {(c, p): sorted(d.duty_holders(c, p), key=lambda x: (x.code, x.coverage_path))
                    for c in classes for p in paths},
        "covering": {p: list(d.covering(p)) for p in paths},
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_compiled_directory_answers_as_the_tables_do(session_factory: sessionmaker[Session], world: World,
                                                         seed: int) -> None:
    with session_factory() as s:
        _grow(s, world, seed)
        compiled = CompiledDirectory.load(s)
        assert _answers(compiled, s) == _answers(SqlDirectory(s), s)
        # a useful comparison: some places have holders at more than one depth
        assert any(len({h.coverage_path for h in compiled.duty_holders(c, a.path)}) > 1
                   for c in ("0101", "0201", "0301") for a in world.areas.values())


def _organisation(s: Session) -> str:
    return stamps(s)["organisation"]


def test_a_committed_change_replaces_the_stamp_and_a_rollback_does_not(session_factory: sessionmaker[Session],
                                                                      world: World) -> None:
    with session_factory() as s:
        before = stamps(s)
        assert set(before) == {"organisation", "dispatch_rules", "risk_points"}
        s.execute(update(Unit).where(Unit.code == "D500111-SWJ").values(active=False))
        s.rollback()
        assert stamps(s) == before
        s.execute(update(Unit).where(Unit.code == "D500111-SWJ").values(active=False))
        s.execute(delete(UnitDuty).where(UnitDuty.unit_id == world.units["D500111-CGJ"].id))
        s.commit()
        after = stamps(s)
        assert after["organisation"] != before["organisation"]
        assert after["dispatch_rules"] == before["dispatch_rules"]  # rules untouched
        assert after["risk_points"] == before["risk_points"]  # and the risk points
        s.add(DispatchRuleVersion(rule_code="R-X", version=1, change="create", snapshot={}, changed_by="t"))
        s.commit()
        assert stamps(s)["dispatch_rules"] != after["dispatch_rules"]
        assert stamps(s)["organisation"] == after["organisation"]


def test_the_next_decision_sees_a_committed_duty(session_factory: sessionmaker[Session], world: World) -> None:
    """No rule: the grid principle. Water (0301) at grid A-1 goes to the water company; once the grid's
    own team takes the class, the smaller area wins — in the very next decision, with no wait."""
    grid = world.areas["500111001001001"]
    rules = RuleSet([Rule(code="R0", name="无", priority=1, condition={"field": "event_class", "op": "in",
                                                                          "value": ["9999"]},
                          targets={"lead": "D500111-CGJ"})])
    from shuzhi.domain.conditions import EventFacts
    facts = EventFacts(event_class="0301", major_class="03", area_path=grid.path, area_level="grid")
    with session_factory() as s:
        _, units = decision_inputs(s)
        assert isinstance(units, CompiledDirectory)
        assert decide(rules, facts, units).lead.code == "D500111-SWJ"  # type: ignore[union-attr]
        assert decision_inputs(s)[1] is units  # nothing changed: the same compiled directory
        s.commit()
        s.add(UnitDuty(unit_id=world.units["G500111001001001"].id, event_class_id=world.classes["0301"].id))
        s.commit()
        _, again = decision_inputs(s)
        assert again is not units
        assert decide(rules, facts, again).lead.code == "G500111001001001"  # type: ignore[union-attr]


def test_without_stamps_the_tables_are_asked(session_factory: sessionmaker[Session], world: World) -> None:
    with session_factory() as s:
        s.execute(delete(ChangeStamp))
        assert isinstance(unit_directory(s, stamps(s).get("organisation")), SqlDirectory)
        rules, units = decision_inputs(s)
        assert isinstance(units, SqlDirectory) and len(rules) == 0
        s.rollback()
