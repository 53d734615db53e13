"""The desk registers a report in a real browser and sees the model's suggestions (suggest.js).

alice, the district dispatcher, types what a caller said: the top classes with their confidence and the
words behind them appear, she picks one, sees that the same burst main was reported minutes ago at the
same place, and merges the new report into it with one click.
"""

from __future__ import annotations

from typing import Any

import pytest

from shuzhi.services.actors import SYSTEM
from shuzhi.services.hotline import models
from shuzhi.services.unit_of_work import UnitOfWork
from tests.e2e.conftest import Live, sign_in
from tests.factories import World

pytestmark = pytest.mark.browser
HISTORY = {"0101": ["井盖碎了", "井盖松动有响声", "人行道井盖缺了一块", "井盖翘起来了", "井盖被压坏了",
                    "小区门口井盖破损", "路中间的井盖裂开了"],
           "0201": ["垃圾堆成山没人收", "到处是垃圾", "有人乱丢生活垃圾", "垃圾没人扫", "路边垃圾好臭",
                    "绿化带里全是垃圾", "桥下垃圾一大堆"],
           "0301": ["自来水管爆了在喷水", "地下水管破裂冒水", "供水管破了整条街是水", "水管爆裂快关阀门",
                    "马路上水管爆了", "供水主管破裂停水", "自来水管道破裂"]}


def test_the_desk_sees_suggestions_and_merges_a_duplicate(live: Live, browser: Any) -> None:
    models.forget_loaded()
    for code, texts in HISTORY.items():
        for text in texts:
            number = live.submit(event_class_code=code, title=text, description=text)["number"]
            live.call("POST", f"/api/events/{number}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    first = live.submit(event_class_code="0301", title="北山路水管爆了",
                        description="北山路口自来水管爆了，水冒起一米高", lon=World.A1[0], lat=World.A1[1])["number"]
    models.train(UnitOfWork(live.factory), SYSTEM)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "alice")
    page.goto(f"{live.base}/events")
    page.wait_for_selector("body[data-ready='1']")
    page.locator("#register-details summary").click()
    page.get_by_label("经度").fill(str(World.A1[0]))
    page.get_by_label("纬度").fill(str(World.A1[1]))
    page.get_by_label("诉求内容（群众原话或坐席摘要）").fill("北山路口水管爆了，水冒得好高")
    box = page.locator("#suggest-box")
    box.get_by_text("建议类别").wait_for()
    assert "供水管道破裂" in box.locator(".suggest-section").first.inner_text()
    assert "依据" in box.inner_text()
    box.get_by_role("button", name="供水管道破裂（0301）").click()
    assert page.locator("#r-class").input_value() == "0301"
    box.get_by_text(first).wait_for()
    # every earlier burst main there is listed (the history is all at one place); she picks the one
    row = box.locator(".suggest-item.duplicate", has_text=first)
    assert "相距 0 米" in row.inner_text()
    row.get_by_role("button", name="登记并合并到此事件").click()
    page.get_by_text(f"并合并到 {first}").wait_for()
    merged = live.call("GET", "/api/events?state=merged", "alice")["items"]
    assert len(merged) == 1 and merged[0]["event_class_code"] == "0301"
    assert not errors, errors
