"""分析研判 in a real browser: a leader opens the analysis page over a week of demo-like reports and sees
the hot topics with their wording and counts, the hot spot on the district map, the repeat caller,
and downloads the weekly report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shuzhi.services.actors import SYSTEM
from shuzhi.services.hotline import models
from shuzhi.services.unit_of_work import UnitOfWork
from tests.e2e.conftest import Live, sign_in
from tests.e2e.test_browser_hotline import HISTORY
from tests.factories import World

pytestmark = pytest.mark.browser


def test_the_analysis_page_shows_topics_spots_repeats_and_the_report(live: Live, browser: Any) -> None:
    models.forget_loaded()
    for code, texts in HISTORY.items():
        for i, text in enumerate(texts):
            # the burst mains all at one place and one caller who rings again: a hot spot and a repeat caller
            place = World.A1 if code == "0301" else (World.A1[0] + 0.02 * (i % 3), World.A1[1] - 0.01)
            number = live.submit(event_class_code=code, title=text, description=text, lon=place[0], lat=place[1],
                                 reporter_phone="13800000001" if code == "0301" and i < 2 else None)["number"]
            live.call("POST", f"/api/events/{number}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    models.train(UnitOfWork(live.factory), SYSTEM)
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "alice")
    page.goto(f"{live.base}/analysis")
    page.wait_for_selector("body[data-ready='1']")
    page.get_by_label("起始日期").fill(today)
    page.get_by_label("截止日期").fill(today)
    page.get_by_role("button", name="查询").click()
    page.get_by_text("共 21 件诉求").wait_for()
    topics = page.locator("#an-topics tbody").inner_text()
    assert "供水管道破裂（0301）" in topics and "7" in topics
    assert any(w in topics for w in HISTORY["0301"]), topics  # a report's own words represent the topic
    spots = page.locator("#an-spots tbody").inner_text()
    assert "供水管道破裂" in spots and "7" in spots, spots
    assert "多次来电的号码：1 个" in page.locator("#an-repeat-callers").inner_text()
    # the hot spot is drawn on the district map (ECharts canvas inside the map panel)
    page.wait_for_selector("#an-map canvas")
    assert page.locator("#an-topics-chart canvas").count() == 1
    with page.expect_download() as got:
        page.locator("#an-docx").click()
    download = got.value
    assert download.suggested_filename.endswith(".docx")
    assert Path(download.path()).read_bytes()[:2] == b"PK"  # a real Word (zip) file
    assert not errors, errors


def test_the_evaluation_page_shows_the_models_accuracy_in_production(live: Live, browser: Any) -> None:
    models.forget_loaded()
    for code, texts in HISTORY.items():
        for text in texts:
            number = live.submit(event_class_code=code, title=text, description=text)["number"]
            live.call("POST", f"/api/events/{number}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    models.train(UnitOfWork(live.factory), SYSTEM)
    # reports taken after the model is active carry its suggestion; people give (and keep) the class
    for text in ("自来水管爆了在喷水", "马路上水管破裂冒水", "到处是垃圾没人收"):
        code = "0201" if "垃圾" in text else "0301"
        number = live.submit(event_class_code=code, title=text, description=text)["number"]
        live.call("POST", f"/api/events/{number}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "alice")
    page.goto(f"{live.base}/evaluation")
    page.wait_for_selector("body[data-ready='1']")
    table = page.locator("#acc-table tbody")
    rows = {r.locator("td").nth(1).inner_text(): r.locator("td").all_inner_texts() for r in table.locator("tr").all()}
    assert rows["供水管道破裂（0301）"][2] == "2", rows  # two suggestions counted this month for 0301
    assert rows["供水管道破裂（0301）"][4].endswith("%")
    assert page.locator("#acc-chart canvas").count() == 1
    assert not errors, errors
