"""Plan templates and scoring schemes edited on pages (issue #18), each refusal shown at its field in Chinese.

admin (the administrator, who holds plan.write and evaluation.write) creates a plan template with two
tasks — a time limit written wrong and a predecessor that does not exist are named at their fields —
then changes it (a new version); he writes a scoring scheme whose weights do not add up to the total
and a threshold out of range, sees both at their fields, corrects them and the scheme is in use.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Live
from tests.e2e.test_browser_desk import _page

pytestmark = pytest.mark.browser


def _ready(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")


def _error(page: Any, path: str) -> str:
    slot = f'[data-error-for="{path}"]'
    page.wait_for_function(f"(document.querySelector('{slot}') || {{}}).textContent", timeout=5000)
    return str(page.locator(slot).inner_text())


def test_a_plan_template_is_created_and_changed_on_its_page(live: Live, browser: Any) -> None:
    context, page, errors = _page(browser, live, "admin")
    _ready(page, f"{live.base}/plans")
    page.get_by_role("link", name="编辑预案库").click()
    page.wait_for_selector("body[data-ready='1']")
    page.get_by_role("button", name="新建预案").click()
    form = page.locator("#pe-form")
    form.get_by_label("预案编码").fill("storm-drill")
    form.get_by_label("预案名称").fill("暴雨演练预案")
    first = form.locator(".pe-task").nth(0)
    first.get_by_label("任务编码", exact=True).fill("warn")
    first.get_by_label("任务名称").fill("发布预警")
    first.get_by_label("责任主体（或 unit:单位编码）").fill("town_centre")
    first.get_by_label("办理时限").fill("两小时")
    page.get_by_role("button", name="添加任务").click()
    second = form.locator(".pe-task").nth(1)
    second.get_by_label("任务编码", exact=True).fill("close-roads")
    second.get_by_label("任务名称").fill("封闭低洼道路")
    second.get_by_label("责任主体（或 unit:单位编码）").fill("unit:D500111-CGJ")
    second.get_by_label("办理时限").fill("2h")
    second.get_by_label("前置任务编码（逗号分隔）").fill("warm")
    form.get_by_role("button", name="保存").click()
    assert _error(page, "$.tasks[0].deadline") == "时限写法不对，例如 2h、4wh、1wd"
    assert _error(page, "$.tasks[1].after") == "没有编码为「warm」的任务"
    assert first.get_by_label("办理时限").get_attribute("aria-invalid") == "true"
    assert _error(page, "$.tasks[0].instruction") == "必填"
    live.call("GET", "/api/plans/storm-drill", "admin", status=404)  # nothing was stored

    first.get_by_label("办理时限").fill("2h")
    second.get_by_label("前置任务编码（逗号分隔）").fill("warn")
    for task, text in ((first, "通过应急广播发布暴雨预警"), (second, "设置路障并派人值守")):
        task.get_by_label("工作要求").fill(text)
    form.get_by_role("button", name="保存").click()
    page.locator("#pe-body tr[data-plan='storm-drill']").wait_for(timeout=5000)
    assert page.locator("#pe-form [data-error-for]:not(:empty)").count() == 0
    saved = live.call("GET", "/api/plans/storm-drill", "admin")
    assert saved["version"] == 1 and [t["key"] for t in saved["document"]["tasks"]] == ["warn", "close-roads"]
    assert saved["document"]["tasks"][1]["after"] == ["warn"]

    # a change is a new version; the code cannot be changed
    page.locator("#pe-body tr[data-plan='storm-drill']").get_by_role("button", name="编辑").click()
    assert form.get_by_label("预案编码").get_attribute("readonly") is not None
    form.get_by_label("预案名称").fill("暴雨演练预案（修订）")
    form.get_by_label("启动确认").select_option("auto")
    form.get_by_role("button", name="保存").click()
    page.locator("#pe-body tr[data-plan='storm-drill']", has_text="v2").wait_for(timeout=5000)
    saved = live.call("GET", "/api/plans/storm-drill", "admin")
    assert (saved["name"], saved["document"]["confirmation"]) == ("暴雨演练预案（修订）", "auto")
    assert not errors, errors
    context.close()


def test_a_scoring_scheme_is_written_on_its_page_with_errors_at_the_fields(live: Live, browser: Any) -> None:
    context, page, errors = _page(browser, live, "admin")
    _ready(page, f"{live.base}/evaluation")
    page.get_by_role("link", name="编辑评分办法").click()
    page.wait_for_selector("body[data-ready='1']")
    page.get_by_role("button", name="新建评分办法").click()
    form = page.locator("#se-form")
    form.get_by_label("办法编码").fill("town-2027")
    form.get_by_label("办法名称").fill("镇街考核办法")
    item = form.locator(".se-item").nth(0)
    item.get_by_label("权重（分）").fill("60")  # the total is 100
    page.get_by_role("button", name="添加评分项").click()
    second = form.locator(".se-item").nth(1)
    second.get_by_label("指标").select_option("timely_read_rate")
    second.get_by_label("权重（分）").fill("30")
    second.get_by_label("满分线（比率 0–1）").fill("95")  # a percentage where a rate is asked
    second.get_by_label("零分线或每点扣分").fill("0.6")
    form.get_by_role("button", name="保存").click()
    assert _error(page, "items") == "各项权重合计 90 分，应等于总分 100 分"
    assert _error(page, "items[1].full_mark_at") == "须为 0 到 1 之间的比率"
    assert second.get_by_label("满分线（比率 0–1）").get_attribute("aria-invalid") == "true"
    assert [s["code"] for s in live.call("GET", "/api/evaluation/schemes", "admin")] == ["default"]

    second.get_by_label("权重（分）").fill("40")
    second.get_by_label("满分线（比率 0–1）").fill("0.95")
    form.get_by_role("button", name="保存").click()
    page.locator("#se-body tr[data-scheme='town-2027']", has_text="使用中").wait_for(timeout=5000)
    scheme = next(s for s in live.call("GET", "/api/evaluation/schemes", "admin") if s["code"] == "town-2027")
    assert scheme["active"] and [(i["rate"], i["weight"]) for i in scheme["document"]["items"]] == [
        ("closure_rate", 60), ("timely_read_rate", 40)]
    assert not errors, errors
    context.close()
