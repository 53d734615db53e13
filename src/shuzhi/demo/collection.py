"""The demo's collection governance and rectifications (issue #22): an online plan that is partly done
(成熟一批、上线一批 — a first batch online weeks ago, a second due days ago and partly online, a third to
come with indicators not yet in the catalogue), and rectifications of two 易涝点 under way, through the
real services. The stale series come from the sensors that went silent (``demo/sensing.make_simulator``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_sensing import Indicator, RiskPoint
from shuzhi.domain.calendar import SHANGHAI
from shuzhi.services.actors import resolve_actor
from shuzhi.services.sensing import collection, rectification
from shuzhi.services.unit_of_work import UnitOfWork

#: Indicators the plan names that the catalogue does not have yet (the seeds' key lines still to connect).
TO_COME = [("SEWAGE_INFLOW", "第二批"), ("GARBAGE_TRANSFER_LOAD", "第二批"), ("RAIL_PASSENGER_FLOW", "第三批"),
           ("TELECOM_OUTAGES", "第三批"), ("BASE_STATION_LOAD", "第三批"), ("SLOPE_DISPLACEMENT_GNSS", "第三批"),
           ("PIPE_GALLERY_O2", "第三批"), ("PARKING_GUIDANCE", "第三批")]


def seed_collection(uow: Callable[[], UnitOfWork], factory: sessionmaker[Session], now: datetime) -> None:
    with factory() as s:
        admin = resolve_actor(s, "admin")
        codes = list(s.scalars(select(Indicator.code).order_by(Indicator.code)))
        points = list(s.scalars(select(RiskPoint.code).where(RiskPoint.kind == "waterlogging")
                                .order_by(RiskPoint.code)))
    today = now.astimezone(SHANGHAI).date()
    first, second = codes[: len(codes) * 2 // 3], codes[len(codes) * 2 // 3:]
    entries = [{"indicator_code": c, "batch": "第一批", "planned_on": str(today - timedelta(days=60)),
                "online_on": str(today - timedelta(days=58 - i % 5))} for i, c in enumerate(first)]
    # the second batch was due five days ago: those reporting are marked online today, half are given earlier
    entries += [{"indicator_code": c, "batch": "第二批", "planned_on": str(today - timedelta(days=5)),
                 **({"online_on": str(today - timedelta(days=3))} if i % 2 else {})} for i, c in enumerate(second)]
    entries += [{"indicator_code": c, "batch": b,
                 "planned_on": str(today - timedelta(days=5) if b == "第二批" else today + timedelta(days=30))}
                for c, b in TO_COME if c not in codes]
    collection.put_plan(uow(), admin, entries, now=now)
    if len(points) >= 2:
        r = rectification.start(uow(), admin, points[1], finding="雨水篦子被垃圾堵塞，排水不畅",
                                now=now - timedelta(days=3))
        rectification.step(uow(), admin, points[1], r["id"], "measures", measures="清掏雨水篦子，增设截水沟",
                           working_days=5, now=now - timedelta(days=3))
        rectification.start(uow(), admin, points[-1], finding="下穿道积水标尺缺失", now=now - timedelta(hours=6))
