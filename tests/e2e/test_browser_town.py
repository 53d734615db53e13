"""The town in a real browser (issue #20): a case from the town centre to a board, to a named person, and back.

bob, town A's duty officer, sends a case to the 平安法治 board; tina, the town leader in charge of the
board, opens it and assigns it to dave, a grid worker holding the board's 网格联络员 post; dave finds it
under "指派给我" in his inbox, signs for it there, reports back from the event page, and the case is back
at the town centre, reported back for bob to verify. The town's structure page shows the boards.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from shuzhi.adapters.db.tables import Person, Unit
from shuzhi.services.actors import forget_people
from shuzhi.services.security.passwords import hash_password, set_password
from tests.e2e.conftest import PASSWORD, Live, sign_in
from tests.factories import World

pytestmark = pytest.mark.browser
SAFETY = "B500111001-safety_law"


def _page(browser: Any, live: Live, who: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
    context.add_init_script("window.__shuzhiCountsPollMs = 60000;")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, who)
    return context, page, errors


def test_a_case_goes_from_the_town_centre_to_a_board_to_a_named_person_and_back(live: Live, browser: Any) -> None:
    with live.factory() as s:
        centre = s.scalars(select(Unit).where(Unit.code == "C500111001")).one()
        s.add(Person(code="tina", name="唐娜", phone="13800138009", unit_id=centre.id, role="leader"))
        s.flush()
        set_password(s, "tina", PASSWORD, must_change=False, password_hash=hash_password(PASSWORD))
        s.commit()
    forget_people()
    live.call("POST", "/api/towns/500111001/boards", "admin")
    live.call("PUT", "/api/towns/500111001/boards/safety_law", "admin",
              {"leader_code": "tina", "posts": [{"name": "网格联络员", "person_code": "dave"}],
               "duties": [{"title": "矛盾纠纷排查化解", "detail": "每月排查一次"}]})
    ev = live.submit(who="bob", event_class_code="0201", lon=World.A2[0], lat=World.A2[1])
    number = ev["number"]
    live.call("POST", f"/api/events/{number}/dispatch", "bob", {"units": [{"unit_code": SAFETY, "role": "lead"}]})

    # the structure page shows the board with its leader, post and duty
    context, page, errors = _page(browser, live, "bob")
    page.goto(f"{live.base}/town")
    page.wait_for_selector("body[data-ready='1']")
    board = page.locator("[data-board='safety_law']").inner_text()
    assert "唐娜" in board and "网格联络员" in board and "矛盾纠纷排查化解" in board
    assert not errors, errors
    context.close()

    # tina assigns the board's task to dave from the event page
    context, page, errors = _page(browser, live, "tina")
    page.goto(f"{live.base}/events/{number}")
    page.wait_for_selector("body[data-ready='1']")
    task = page.locator("article.task").filter(has_text="平安法治")
    task.locator("button.assign-open").click()
    task.locator("select[name=person_code]").select_option("dave")
    task.locator(".assign-box form button[type=submit]").click()
    page.wait_for_function("() => [...document.querySelectorAll('article.task .assignee')]"
                           ".some((e) => e.textContent.includes('赵伟'))")
    assert not errors, errors
    context.close()

    # dave finds it under 指派给我 and signs for it there, then reports back from the event page
    context, page, errors = _page(browser, live, "dave")
    page.goto(f"{live.base}/inbox?box=mine")
    page.wait_for_selector("body[data-ready='1']")
    card = page.locator("article.inbox-item").filter(has_text=number)
    card.get_by_role("button", name="签收").click()
    page.wait_for_function("() => document.querySelector('article.inbox-item .badge.task-read') !== null")
    page.goto(f"{live.base}/events/{number}")
    page.wait_for_selector("body[data-ready='1']")
    mine = page.locator("article.task").filter(has_text="平安法治")
    report = mine.locator("details.action").filter(has=page.locator("textarea[name=result]"))
    report.locator("summary").click()
    report.locator("textarea[name=result]").fill("已清运，现场恢复整洁")
    report.locator("form button[type=submit]").click()
    page.wait_for_function("() => document.querySelector('article.task.state-reported_back') !== null")
    assert not errors, errors
    context.close()

    back = live.call("GET", f"/api/events/{number}", "bob")
    assert back["state"] == "reported_back"
    timeline = [line["action"] for line in live.call("GET", f"/api/events/{number}/timeline", "bob")]
    assert "task.assign" in timeline and "task.report_back" in timeline

    # the district leader sees dave's figures as the named person answering for it
    context, page, errors = _page(browser, live, "grace")
    page.goto(f"{live.base}/evaluation")
    page.wait_for_selector("#assignees-body tr[data-person='dave']")
    row = page.locator("#assignees-body tr[data-person='dave']").inner_text()
    assert "赵伟" in row and "100.0%" in row
    assert not errors, errors
    context.close()
