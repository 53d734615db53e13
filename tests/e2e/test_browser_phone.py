"""dave, the grid worker of grid A-1, on his phone (390×844, GPS allowed, a fixed position in his grid):
he reports a patrol finding with a photo in well under 30 s, sees and answers his task, walks a patrol
with a few GPS points, and keeps a finding as a draft while the network is away.
"""

from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Live, png_bytes, sign_in

pytestmark = pytest.mark.browser

HERE = {"longitude": 105.7021, "latitude": 29.7021}  # inside grid A-1
# bypass_csp: only so that wait_for_function may evaluate its expression (the page itself needs no exception)
PHONE = {"bypass_csp": True, "viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "geolocation": HERE, "permissions": ["geolocation"], "locale": "zh-CN"}


def noisy_png(width: int, height: int) -> bytes:
    """A large photo stand-in that does not compress (random pixels): the page must shrink it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))


def _phone(live: Live, browser: Any, query: str = "") -> tuple[Any, Any, list[str]]:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base, "dave")
    page.goto(f"{live.base}/m{query}")
    page.wait_for_selector("body[data-ready='1']")
    return context, page, errors


def test_a_grid_worker_reports_a_finding_with_a_photo_in_under_30_seconds(live: Live, browser: Any,
                                                                           tmp_path: Path) -> None:
    big = noisy_png(2400, 1800)  # ~13 MB, larger than the phone's own photo
    photo = tmp_path / "现场.png"
    photo.write_bytes(big)  # a file, as the camera gives one (a 13 MB buffer through Playwright's pipe takes 20 s)
    context, page, errors = _phone(live, browser)
    started = time.monotonic()
    page.wait_for_function("document.getElementById('gps-status').textContent.startsWith('已定位')")
    # nothing wider than the phone, and the submit button within the thumb's reach once scrolled to
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.get_by_role("button", name="提交上报").bounding_box()
    assert box is not None and box["height"] >= 48 and box["width"] >= 300
    # nothing chosen: the error is at the class, in Chinese
    page.get_by_role("button", name="提交上报").click()
    assert page.locator("#err-class").inner_text() == "请选择类别或填写情况说明"
    page.locator("#photo").set_input_files(str(photo))
    page.wait_for_selector("#photo-preview:not([hidden])")
    page.get_by_role("radio", name="暴露垃圾").tap()
    page.get_by_label("情况说明").fill("北山路口垃圾堆放")
    page.get_by_role("button", name="提交上报").tap()
    page.wait_for_function("document.body.dataset.lastFinding")
    elapsed = time.monotonic() - started
    assert elapsed < 30, f"reporting took {elapsed:.1f} s of page time"
    number = page.evaluate("document.body.dataset.lastFinding")
    assert "已上报" in page.locator("#toast").inner_text()
    event = live.call("GET", f"/api/events/{number}", "dave")
    assert event["source"] == "grid_patrol" and event["area_chain"][-1] == "500111001001001"
    assert event["title"] == "北山路口垃圾堆放" and abs(event["lon"] - HERE["longitude"]) < 1e-6
    files = live.call("GET", f"/api/events/{number}/attachments", "dave")
    # shrunk in the browser before the upload: a JPEG far smaller than the photo taken
    assert len(files) == 1 and files[0]["content_type"] == "image/jpeg" and files[0]["size"] < len(big) / 4

    # outside his grid (in grid A-2): the error is at the place, and a grid can be picked by hand
    context.set_geolocation({"longitude": 105.715, "latitude": 29.705})
    page.get_by_role("button", name="重新定位").tap()
    page.wait_for_function("document.getElementById('gps-status').textContent.startsWith('已定位')")
    page.get_by_role("radio", name="井盖破损").tap()
    page.get_by_role("button", name="提交上报").tap()
    page.wait_for_function("document.getElementById('err-location').textContent.length > 0")
    assert "不在您的网格内" in page.locator("#err-location").inner_text()
    page.get_by_role("button", name="手动选择").tap()
    page.get_by_label("所在网格").select_option("500111001001001")
    page.get_by_role("button", name="提交上报").tap()
    page.wait_for_function(f"document.body.dataset.lastFinding && document.body.dataset.lastFinding !== '{number}'")
    second = page.evaluate("document.body.dataset.lastFinding")
    assert live.call("GET", f"/api/events/{second}", "dave")["area_chain"][-1] == "500111001001001"
    assert not errors, errors
    context.close()


def test_a_grid_worker_sees_his_task_and_reports_back_with_a_photo(live: Live, browser: Any) -> None:
    event = live.submit(who="bob", source="hotline", event_class_code="0201", title="五金店门口占道经营")
    live.call("POST", f"/api/events/{event['number']}/dispatch", "bob",
              {"units": [{"unit_code": "G500111001001001", "role": "lead"}]})
    context, page, errors = _phone(live, browser)
    page.locator("#count-tasks:not(:empty)").wait_for()
    page.get_by_role("button", name="任务").tap()
    card = page.locator(f"article[data-number='{event['number']}']")
    card.wait_for()
    assert "五金店门口占道经营" in card.inner_text()
    card.get_by_role("button", name="签收").tap()
    card = page.locator(f"article[data-number='{event['number']}']")
    card.get_by_role("button", name="提交反馈").wait_for()
    card.get_by_role("button", name="提交反馈").tap()
    assert card.locator(".ph-error").inner_text() == "请填写处置结果"
    card.get_by_label("处置结果").fill("已劝离，恢复通行")
    card.get_by_label("处置后照片").set_input_files(
        files=[{"name": "after.png", "mimeType": "image/png", "buffer": png_bytes(8, 6)}])
    card.get_by_role("button", name="提交反馈").tap()
    card.get_by_text("已反馈", exact=True).wait_for()  # the card stays, in its new state, without the form
    assert card.get_by_role("button", name="提交反馈").count() == 0
    after = live.call("GET", f"/api/events/{event['number']}", "bob")
    assert after["state"] == "reported_back"
    files = live.call("GET", f"/api/events/{event['number']}/attachments", "bob")
    assert [f["task_id"] for f in files] == [after["tasks"][0]["id"]]
    # his own case waits for someone else's check: no verify buttons for him
    page.get_by_role("button", name="核查").tap()
    own = page.locator(f"#verify-list article[data-number='{event['number']}']")
    own.wait_for()
    assert "由他人核查" in own.inner_text() and own.get_by_role("button", name="核查通过").count() == 0
    assert not errors, errors
    context.close()


def test_a_grid_worker_verifies_a_case_another_unit_handled(live: Live, browser: Any) -> None:
    event = live.submit(who="bob", source="hotline", event_class_code="0101", title="人行道井盖缺失")
    event = live.call("POST", f"/api/events/{event['number']}/dispatch", "bob",
                      {"units": [{"unit_code": "D500111-CGJ", "role": "lead"}]})
    task = event["tasks"][0]["id"]
    live.call("POST", f"/api/events/{event['number']}/tasks/{task}/accept", "carol", {})
    live.call("POST", f"/api/events/{event['number']}/tasks/{task}/report-back", "carol", {"result": "已更换井盖"})
    context, page, errors = _phone(live, browser)
    page.locator("#count-verify:not(:empty)").wait_for()
    page.get_by_role("button", name="核查").tap()
    card = page.locator(f"#verify-list article[data-number='{event['number']}']")
    card.wait_for()
    assert "由他人核查" not in card.inner_text()
    card.get_by_label("核查照片").set_input_files(
        files=[{"name": "check.png", "mimeType": "image/png", "buffer": png_bytes(8, 6)}])
    card.get_by_role("button", name="核查通过").tap()
    page.locator(f"#verify-list article[data-number='{event['number']}']").wait_for(state="detached")
    after = live.call("GET", f"/api/events/{event['number']}", "bob")
    assert after["state"] == "verified"
    assert len(live.call("GET", f"/api/events/{event['number']}/attachments", "bob")) == 1
    assert not errors, errors
    context.close()


def test_a_patrol_records_a_few_points_and_a_finding_on_it(live: Live, browser: Any) -> None:
    context, page, errors = _phone(live, browser, "?every=1")
    page.get_by_role("button", name="巡查").tap()
    page.get_by_role("button", name="开始巡查").tap()
    page.wait_for_function("document.body.dataset.patrol")
    patrol_id = int(page.evaluate("document.body.dataset.patrol"))
    # he walks north, ~22 m a step (a point every 20 m or every second)
    for i in range(1, 5):
        context.set_geolocation({"longitude": HERE["longitude"], "latitude": HERE["latitude"] + i * 0.0002})
        page.wait_for_function(f"Number(document.getElementById('pt-points').textContent) >= {i + 1}",
                               timeout=10_000)
    # a finding reported during the patrol links to it
    page.get_by_role("button", name="上报").tap()
    page.get_by_role("radio", name="暴露垃圾").tap()
    page.get_by_role("button", name="提交上报").tap()
    page.wait_for_function("document.body.dataset.lastFinding")
    page.get_by_role("button", name="巡查").tap()
    page.get_by_role("button", name="结束巡查").tap()
    page.wait_for_function("!document.body.dataset.patrol")
    page.locator(f"#patrol-recent li[data-patrol='{patrol_id}']").wait_for()
    done = live.call("GET", f"/api/patrols/{patrol_id}", "dave")
    assert not done["running"] and done["point_count"] >= 5 and done["findings"] == 1
    assert 80 < done["distance_m"] < 200 and done["track"]["type"] == "LineString"
    # the town centre reads it
    assert live.call("GET", f"/api/patrols/{patrol_id}", "bob")["person_code"] == "dave"
    assert not errors, errors
    context.close()


def test_a_finding_made_offline_is_kept_and_sent_on_the_next_visit(live: Live, browser: Any) -> None:
    context, page, errors = _phone(live, browser)
    page.wait_for_function("document.getElementById('gps-status').textContent.startsWith('已定位')")
    page.locator("#photo").set_input_files(
        files=[{"name": "p.png", "mimeType": "image/png", "buffer": png_bytes(16, 12)}])
    page.wait_for_selector("#photo-preview:not([hidden])")
    page.get_by_role("radio", name="暴露垃圾").tap()
    page.get_by_label("情况说明").fill("离线时发现的垃圾")
    context.set_offline(True)
    page.get_by_role("button", name="提交上报").tap()
    page.wait_for_function("document.getElementById('err-form').textContent.includes('已保存草稿')")
    assert page.evaluate("JSON.parse(localStorage.getItem('shuzhi.phone.drafts')).length") == 1
    context.set_offline(False)
    page.reload()
    page.wait_for_function("localStorage.getItem('shuzhi.phone.drafts') === '[]'", timeout=15_000)
    mine = live.call("GET", "/api/events?source=grid_patrol", "dave")["items"]
    sent = [e for e in mine if e["title"] == "离线时发现的垃圾"]
    assert len(sent) == 1
    assert len(live.call("GET", f"/api/events/{sent[0]['number']}/attachments", "dave")) == 1
    assert not [e for e in errors if "Failed to fetch" not in e], errors
    context.close()


def test_a_refused_photo_is_named_and_the_resubmit_makes_no_second_event(live: Live, browser: Any) -> None:
    context, page, errors = _phone(live, browser)
    page.wait_for_function("document.getElementById('gps-status').textContent.startsWith('已定位')")
    # says it is a PNG, is not one: the server refuses it, the page names the photo
    page.locator("#photo").set_input_files(
        files=[{"name": "fake.png", "mimeType": "image/png", "buffer": b"MZ\x90\x00 not a picture"}])
    page.get_by_text("重拍").wait_for()  # taken (the preview of a broken picture shows nothing)
    page.get_by_role("radio", name="暴露垃圾").tap()
    page.get_by_label("情况说明").fill("照片被拒后重交")
    page.get_by_role("button", name="提交上报").tap()
    page.wait_for_function("document.getElementById('err-photo').textContent.length > 0")
    assert page.locator("#err-photo").inner_text() == "只能上传照片（JPEG、PNG、WebP）"
    page.locator("#photo").set_input_files(
        files=[{"name": "real.png", "mimeType": "image/png", "buffer": png_bytes(8, 6)}])
    page.get_by_role("button", name="提交上报").tap()
    page.wait_for_function("document.body.dataset.lastFinding")
    number = page.evaluate("document.body.dataset.lastFinding")
    mine = [e for e in live.call("GET", "/api/events?source=grid_patrol", "dave")["items"]
            if e["title"] == "照片被拒后重交"]
    assert [e["number"] for e in mine] == [number]
    assert len(live.call("GET", f"/api/events/{number}/attachments", "dave")) == 1
    assert not errors, errors
    context.close()
