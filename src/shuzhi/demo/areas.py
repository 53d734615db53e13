"""A village merge (村社撤并) in the demo's history (issue #20, areas that change): two villages of the
district's last town become one, a day before now, by the district's administrator, through the
service — open cases and tasks move to the merged village's grids and units with a timeline line,
closed ones and every figure before the change stay where they happened."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shuzhi.demo.district import DemoDistrict
from shuzhi.services import area_changes
from shuzhi.services.actors import resolve_actor
from shuzhi.services.unit_of_work import UnitOfWork


def merge_pair(district: DemoDistrict) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first two villages of the last town (the demo accounts' towns, 龙岗 and 棠香, are left alone)."""
    town = district.towns[-1]
    first, second = [v for v in district.villages if v["town"] == town["code"]][:2]
    return first, second


def merged_name(first: dict[str, Any], second: dict[str, Any]) -> str:
    stem = first["name"].removesuffix("社区").removesuffix("村")
    return f"{stem}{second['name']}"[:100]


def seed_merge_configuration(uow: Callable[[], UnitOfWork], district: DemoDistrict) -> list[str]:
    """The two villages' 便民服务站 (a service window of each committee): configuration naming the
    villages, which the merge re-points to the merged village and its committee (services/area_repoint.py)."""
    from shuzhi.services.window import catalogue

    with uow() as u:
        admin = resolve_actor(u.session, "admin")
    codes = []
    for v in merge_pair(district):
        catalogue.save_window(uow(), f"W-{v['code']}", f"{v['name']}便民服务站", "village", f"V{v['code']}",
                              v["code"], f"{v['name']}便民服务站", admin)
        codes.append(f"W-{v['code']}")
    return codes


def seed_village_merge(uow: Callable[[], UnitOfWork], district: DemoDistrict, now: datetime) -> dict[str, Any]:
    first, second = merge_pair(district)
    with uow() as u:
        admin = resolve_actor(u.session, "admin")
    body = area_changes.ChangeIn(
        kind="merge", area_codes=[first["code"], second["code"]], name=merged_name(first, second),
        effective_at=now - timedelta(days=1),
        reason=f"村社撤并：{first['name']}、{second['name']}合并（区政府批复）")
    return area_changes.apply(uow(), body, admin, now=now)
