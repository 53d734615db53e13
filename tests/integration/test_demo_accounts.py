"""The demo's accounts (README): every role, two towns, two departments; each signs in with the
demo password and sees only its own scope."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.config import Settings
from shuzhi.demo.accounts import DEMO_PASSWORD, give_demo_passwords
from shuzhi.demo.runner import DEMO_ACCOUNTS
from shuzhi.domain.permissions import Role
from shuzhi.entrypoints.api.app import create_app
from shuzhi.services import commands as c
from shuzhi.services.actors import SYSTEM
from shuzhi.services.intake import submit_event
from shuzhi.services.unit_of_work import UnitOfWork


def test_demo_accounts_sign_in_and_see_their_own_scope(demo_district: Any, session_factory: sessionmaker[Session],
                                                      tmp_path: Any) -> None:
    district = demo_district
    assert give_demo_passwords(session_factory) == len(district.people)
    assert give_demo_passwords(session_factory) == 0  # only people without a password

    grid = {g["worker"]: g for g in district.grids}
    numbers = {}
    for who in ("grid.longgang01", "grid.tangxiang01"):
        lon, lat = grid[who]["point"]
        cmd = c.SubmitEvent(source="hotline", title=f"{who} 的网格", lon=lon, lat=lat)
        numbers[who] = submit_event(UnitOfWork(session_factory), cmd, SYSTEM).number

    app = create_app(session_factory, Settings(data_dir=tmp_path, database_url="sqlite://", demo_mode=True,
                                               login_burst=1000))
    roles, towns, departments = set(), set(), set()
    with TestClient(app, base_url="http://localhost") as web:
        for code, _ in DEMO_ACCOUNTS:
            r = web.post("/api/auth/login", json={"code": code, "password": DEMO_PASSWORD})
            assert r.status_code == 200, (code, r.text)
            person = r.json()["person"]
            assert r.json()["must_change_password"] is False  # demo mode
            roles.add(person["role"])
            if person["unit_code"].startswith("C500111") and len(person["unit_code"]) == 10:
                towns.add(person["unit_code"])
            if person["unit_code"].startswith("D"):
                departments.add(person["unit_code"])
            seen = {e["number"] for e in web.get("/api/events", params={"limit": 500}).json()["items"]}
            expected = {
                "admin": set(numbers.values()), "auditor": set(numbers.values()),
                "leader.city": set(numbers.values()),  # the city sees both districts (一贯到底)
                "duty.district": set(numbers.values()), "leader.district": set(numbers.values()),
                "dispatcher.district1": set(numbers.values()), "integrator": set(numbers.values()),
                "duty.longgang": {numbers["grid.longgang01"]}, "dispatcher.longgang": {numbers["grid.longgang01"]},
                "leader.longgang": {numbers["grid.longgang01"]}, "grid.longgang01": {numbers["grid.longgang01"]},
                "duty.tangxiang": {numbers["grid.tangxiang01"]},
                "dispatcher.tangxiang": {numbers["grid.tangxiang01"]},
                "grid.tangxiang01": {numbers["grid.tangxiang01"]},
                "handler.cgj": set(), "handler.slj": set(),  # departments: only tasks given to them
            }[code]
            assert seen == expected, code
            web.cookies.clear()
    assert roles == {r.value for r in Role}
    assert len(towns) >= 2 and len(departments) >= 2
