"""A few cases in the neighbouring district (铜梁区), so that the city's level view has two districts to
compare (一贯到底, docs/vital-signs.md "Three levels"): reported over the last days, half of them pushed
down to the town centre, one of those signed for. A dozen service calls: the demo builds no slower."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from shuzhi.demo.district import SIBLING_CODE, DemoDistrict
from shuzhi.services import commands as c
from shuzhi.services.actors import resolve_actor
from shuzhi.services.intake import submit_event
from shuzhi.services.plans import coordination
from shuzhi.services.unit_of_work import UnitOfWork

TITLES = [("0101", "井盖缺失"), ("0201", "垃圾堆放"), ("0301", "路面破损"), ("0101", "雨水篦子损坏"),
          ("0201", "绿化带杂物"), ("0301", "人行道塌陷")]


def seed_sibling(uow: Callable[[], UnitOfWork], district: DemoDistrict, now: datetime, seed: int) -> list[str]:
    """Report the cases and push half of them down; returns their numbers."""
    rng = random.Random(seed * 104_729 + 151)
    with uow() as u:
        duty = resolve_actor(u.session, "duty.tongliang")
    numbers = []
    for i, g in enumerate(district.sibling_grids[::3][:len(TITLES)]):
        code, title = TITLES[i]
        at = now - timedelta(hours=rng.uniform(2, 60))
        cmd = c.SubmitEvent.model_validate({"source": "hotline", "request_type": "complain",
                                            "event_class_code": code, "title": title, "lon": g["point"][0],
                                            "lat": g["point"][1], "received_at": at,
                                            "centre_code": f"C{SIBLING_CODE}"})
        number = submit_event(uow(), cmd, duty, now=at, intake_key=f"demo-sibling-{i}").number
        numbers.append(number)
        if i % 2 == 0:
            coordination.push_down(uow(), number, coordination.PushDown(centre_code=f"C{g['town']}",
                                                                        instruction="请镇街核实处置"),
                                   duty, now=at + timedelta(minutes=20))
    return numbers
