"""Hotline intelligence end to end: train from history, suggest at the desk, correct, retrain, roll back.

alice is the district dispatcher, bob town A's (龙岗) duty officer, frank town B's (棠香).
The classes of the test world: 0101 井盖破损, 0201 暴露垃圾, 0301 供水管道破裂.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from shuzhi.adapters.db.tables_hotline import EventLink, ModelSuggestion
from shuzhi.services.actors import SYSTEM
from shuzhi.services.hotline import models
from shuzhi.services.hotline.suggest import _memo
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api

HISTORY = {
    "0101": ["北山路有个井盖碎了", "井盖松动踩上去晃", "人行道上井盖缺了一块", "市民反映井盖破损请更换",
             "小区门口的井盖翘起来了", "路中间井盖被车压坏了"],
    "0201": ["路边垃圾堆成山没人收", "到处是垃圾臭得很", "有人乱丢生活垃圾", "绿化带里全是垃圾",
             "菜市场外面垃圾没人扫", "桥下面垃圾一大堆"],
    "0301": ["自来水管爆了水往外喷", "地下水管破裂路面冒水", "供水管破了整条街是水", "水管爆裂快来关阀门",
             "马路上水管破了在喷水", "供水主管爆了停水了"],
}
# said of a burst main, but first labelled as a manhole cover problem — until the dispatcher corrects it
AMBIGUOUS = ["井盖下面一直往外冒水", "井盖被水顶开了在冒水", "井盖边上冒水冒了一上午", "井盖周围不停冒水",
             "井盖缝里冒水路面都湿了", "井盖那里冒出好多水"]


def _submit_dispatched(api: Api, text: str, code: str, at: tuple[float, float] = World.A1, **kw: Any) -> str:
    body = {"source": "hotline", "request_type": "complain", "event_class_code": code, "title": text[:20],
            "description": text, "lon": at[0], "lat": at[1], **kw}
    number = api.post("/api/events", "alice", body, status=201)["number"]
    unit = "D500111-SWJ" if code == "0301" else "D500111-CGJ"
    api.post(f"/api/events/{number}/dispatch", "alice", {"units": [{"unit_code": unit}]})
    return number


@pytest.fixture
def history(api: Api, world: World) -> dict[str, list[str]]:
    models.forget_loaded()
    _memo.clear()
    numbers: dict[str, list[str]] = {}
    for code, texts in HISTORY.items():
        numbers[code] = [_submit_dispatched(api, t, code) for t in texts]
    numbers["ambiguous"] = [_submit_dispatched(api, t, "0101") for t in AMBIGUOUS]
    return numbers


def _train(api: Api) -> models.VersionView:
    return models.train(UnitOfWork(api.client.app.state.session_factory), SYSTEM)


def _first(api: Api, text: str, who: str = "alice") -> dict[str, Any]:
    return api.post("/api/events/suggest", who, {"text": text})


def test_the_model_learns_from_history_and_suggests_with_reasons(api: Api, history: dict[str, list[str]]) -> None:
    v = _train(api)
    assert v.active and v.version == 1 and v.examples == 24 and v.classes == 3
    assert v.metrics["n"] > 0 and 0.0 <= v.metrics["top1"] <= 1.0
    got = _first(api, "五星大道那边水管爆了在喷水")
    assert got["model_version"] == 1
    assert got["classes"][0]["code"] == "0301"
    assert len(got["classes"]) == 3 and got["classes"][0]["score"] > got["classes"][1]["score"]
    assert "水管" in "".join(got["classes"][0]["words"])
    # the unit: what the dispatch rules choose for 0301 at the district (the water company)
    assert got["units"][0]["code"] == "D500111-SWJ"


def test_a_dispatchers_correction_changes_the_suggestion_after_retraining(
        api: Api, history: dict[str, list[str]], session_factory: sessionmaker[Session]) -> None:
    _train(api)
    new_text = "井盖那里在往外冒水，冒了一上午了"
    assert _first(api, new_text)["classes"][0]["code"] == "0101"
    for number in history["ambiguous"]:
        api.post(f"/api/events/{number}/reclassify", "alice",
                 {"event_class_code": "0301", "reason": "是供水管道破裂，不是井盖"})
    # before retraining the active model has not changed its mind
    assert _first(api, new_text)["classes"][0]["code"] == "0101"
    v = _train(api)
    assert v.version == 2 and v.corrections == len(AMBIGUOUS)
    assert _first(api, new_text)["classes"][0]["code"] == "0301"
    # texts that were never in question keep their class
    assert _first(api, "小区门口井盖碎了一块")["classes"][0]["code"] == "0101"


def test_versions_list_activate_and_roll_back(api: Api, history: dict[str, list[str]]) -> None:
    _train(api)
    api.post(f"/api/events/{history['ambiguous'][0]}/reclassify", "alice",
             {"event_class_code": "0301", "reason": "更正"})
    _train(api)
    listed = api.get("/api/models", who="admin")
    assert [(v["version"], v["active"]) for v in listed] == [(2, True), (1, False)]
    assert listed[0]["data_cutoff"] and listed[0]["metrics"]["n"] > 0
    assert api.post("/api/models/rollback", "admin")["version"] == 1
    assert _first(api, "水管爆了")["model_version"] == 1
    assert api.post("/api/models/2/activate", "admin")["version"] == 2
    assert _first(api, "水管爆了")["model_version"] == 2
    api.post("/api/models/9/activate", "admin", status=404)
    api.post("/api/models/1/activate", "alice", status=403)  # a dispatcher does not manage models
    api.post("/api/models/rollback", "admin")
    assert "oldest" in api.post("/api/models/rollback", "admin", status=409)["detail"]


@pytest.mark.parametrize(("body", "field"), [
    ({}, "text"),
    ({"text": ""}, "text"),
    ({"text": "   "}, "text"),
    ({"text": "x" * 4001}, "text"),
    ({"text": "水管爆了", "lon": 200, "lat": 29.7}, "lon"),
    ({"text": "水管爆了", "lon": 105.7}, "lat"),
    ({"text": "水管爆了", "area_code": "999"}, "area_code"),
    ({"text": "水管爆了", "received_at": "2026-12-07T10:00:00"}, "received_at"),
    ({"text": "水管爆了", "colour": "red"}, "colour"),
])
def test_bad_input_gets_422_naming_the_field(api: Api, world: World, body: dict[str, Any], field: str) -> None:
    assert field in api.post("/api/events/suggest", "alice", body, status=422)["field"]


def test_without_a_model_the_desk_is_told_so(api: Api, world: World) -> None:
    models.forget_loaded()
    assert "train" in api.post("/api/events/suggest", "alice", {"text": "水管爆了"}, status=409)["detail"]
    assert api.client.post("/api/events/suggest", json={"text": "水管爆了"}).status_code == 401


def test_duplicates_are_ranked_and_scoped_to_the_caller(api: Api, history: dict[str, list[str]]) -> None:
    _train(api)
    near = _submit_dispatched(api, "北山路口自来水管爆了，水冒起一米高", "0301", at=(105.7052, 29.7051))
    older_far = _submit_dispatched(api, "北山路自来水管爆了", "0301", at=(105.712, 29.708))
    town_b = _submit_dispatched(api, "五星社区自来水管爆了，水冒起一米高", "0301", at=World.B1)
    ask = {"text": "北山路口水管爆了，水冒得好高", "lon": 105.7051, "lat": 29.7050}
    got = api.post("/api/events/suggest", "alice", ask)
    numbers = [d["number"] for d in got["duplicates"]]
    assert numbers[0] == near
    assert got["duplicates"][0]["distance_m"] < 30 and got["duplicates"][0]["score"] >= 0.5
    assert older_far not in numbers[:1]
    # bob (town A) never sees town B's event; frank (town B) sees his own, not A's
    said = {"text": "自来水管爆了，水冒起一米高"}
    bob = [d["number"] for d in api.post("/api/events/suggest", "bob", said)["duplicates"]]
    assert town_b not in bob
    frank = [d["number"] for d in api.post("/api/events/suggest", "frank",
                                           {"text": "自来水管爆了，水冒起一米高"})["duplicates"]]
    assert town_b in frank and near not in frank
    # an unrelated problem at the same place is no duplicate
    assert near not in [d["number"] for d in api.post("/api/events/suggest", "alice", {
        "text": "北山路口垃圾堆成山没人收", "lon": 105.7051, "lat": 29.7050})["duplicates"]]


def test_intake_records_the_models_suggestion(api: Api, history: dict[str, list[str]],
                                              session_factory: sessionmaker[Session]) -> None:
    v = _train(api)
    number = _submit_dispatched(api, "路边水管爆了一直喷水", "0301")
    with session_factory() as s:
        from shuzhi.adapters.db.tables import Event

        event_id = s.scalar(select(Event.id).where(Event.number == number))
        row = s.scalar(select(ModelSuggestion).where(ModelSuggestion.event_id == event_id))
    assert row is not None and row.class_code == "0301" and row.model_version_id == v.id and row.score > 0.3
    # people then decide otherwise for one: production accuracy counts it per month and final class
    wrong = _submit_dispatched(api, "路边水管爆了一直在冒水", "0301")
    api.post(f"/api/events/{wrong}/reclassify", "alice", {"event_class_code": "0101", "reason": "是井盖问题"})
    figures = {r["class_code"]: r for r in api.get("/api/models/production-accuracy")}
    assert (figures["0301"]["suggested"], figures["0301"]["right"]) == (1, 1)
    assert (figures["0101"]["suggested"], figures["0101"]["right"], figures["0101"]["rate"]) == (1, 0, 0.0)
    assert figures["0301"]["versions"] == [v.version]
    api.get("/api/models/production-accuracy", who="dave", status=403)  # a grid worker does not evaluate


def test_a_repeat_is_linked_with_its_reasons_and_on_the_timeline(api: Api, world: World,
                                                                 session_factory: sessionmaker[Session]) -> None:
    first = api.submit(title="井盖又坏了", reporter_phone="13900001111", lon=105.705, lat=29.705)
    api.post(f"/api/events/{first['number']}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    with session_factory() as s:  # closed earlier (the loop to closure is tested elsewhere)
        from datetime import UTC, datetime, timedelta

        from shuzhi.adapters.db.tables import Event

        e = s.scalar(select(Event).where(Event.number == first["number"]))
        assert e is not None
        e.state, e.closed_at = "closed", datetime.now(UTC) - timedelta(days=3)
        s.commit()
    again = api.submit(title="井盖又坏了", reporter_phone="13900001111", lon=105.7051, lat=29.7051)
    link = api.post(f"/api/events/{again['number']}/repeat-of", "alice", {"earlier_number": first["number"]})
    assert link["reasons"] == ["same_caller", "same_place"]
    api.post(f"/api/events/{again['number']}/repeat-of", "alice", {"earlier_number": first["number"]}, status=409)
    api.post(f"/api/events/{first['number']}/repeat-of", "alice", {"earlier_number": again["number"]}, status=409)
    timeline = api.get(f"/api/events/{again['number']}/timeline")
    assert timeline[-1]["action"] == "event.link_repeat" and timeline[-1]["payload"]["earlier"] == first["number"]
    with session_factory() as s:
        assert s.scalar(select(EventLink.kind)) == "repeat"


def test_cli_evaluate_reads_a_small_file_and_names_bad_lines(api: Api, history: dict[str, list[str]],
                                                             tmp_path: Path, engine: Any) -> None:
    from shuzhi.entrypoints.cli import app

    _train(api)
    texts = tmp_path / "texts.jsonl"
    texts.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"text": "水管爆了到处是水", "class_code": "0301"}, {"text": "垃圾没人收", "class_code": "0201"},
        {"text": "井盖碎了", "class_code": "0101"}, {"text": "井盖碎了", "class_code": "0201"}]), encoding="utf-8")
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"a": "北山路水管爆了", "b": "北山路自来水管破裂冒水", "duplicate": True},
        {"a": "北山路水管爆了", "b": "五星大道垃圾没人收", "duplicate": False}]), encoding="utf-8")
    url = str(engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    r = runner.invoke(app, ["model", "evaluate", "--file", str(texts), "--pairs", str(pairs), "--database-url", url])
    assert r.exit_code == 0, r.output
    assert "4 texts — top-1 75.0 %, top-3 100.0 %" in r.output
    assert "2 pairs" in r.output and "precision" in r.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "井盖碎了", "class_code": "0101"}\n{"text": "x", "class_code": "7777"}\n',
                   encoding="utf-8")
    r = runner.invoke(app, ["model", "evaluate", "--file", str(bad), "--database-url", url])
    assert r.exit_code == 2 and "line 2" in r.output and "7777" in r.output


def test_cli_evaluate_without_a_model_names_the_version(tmp_path: Path, engine: Any) -> None:
    from shuzhi.entrypoints.cli import app

    texts = tmp_path / "texts.jsonl"
    texts.write_text('{"text": "井盖碎了", "class_code": "0101"}\n', encoding="utf-8")
    url = str(engine.url.render_as_string(hide_password=False))
    r = CliRunner().invoke(app, ["model", "evaluate", "--file", str(texts), "--database-url", url])
    assert r.exit_code == 2 and "version" in r.output and "no active model" in r.output
    r = CliRunner().invoke(app, ["model", "evaluate", "--file", str(texts), "--version", "7", "--database-url", url])
    assert r.exit_code == 2 and "version 7 not found" in r.output


def test_analysis_and_the_weekly_report(api: Api, history: dict[str, list[str]]) -> None:
    from datetime import UTC, datetime

    from shuzhi.domain.calendar import SHANGHAI

    _train(api)
    # the analysis' days are Chongqing's: between 16:00 and 24:00 UTC today there is already tomorrow
    today = datetime.now(UTC).astimezone(SHANGHAI).date().isoformat()
    got = api.get(f"/api/hotline/analysis?since={today}&until={today}")
    assert got["reports"] == 24
    top = got["topics"][0]
    texts = [t for ts in HISTORY.values() for t in ts] + AMBIGUOUS
    assert top["count"] >= 3 and top["wording"] in texts and top["class_code"] in HISTORY
    assert top["towns"] == ["龙岗街道"]
    assert got["hot_spots"][0]["count"] == 24  # all at World.A1
    # the spot names its events, so that the ledgers can make it one problem to rectify
    assert len(got["hot_spots"][0]["events"]) == 24 and set(got["hot_spots"][0]["events"]) == {
        n for ns in history.values() for n in ns}
    docx = api.get(f"/api/hotline/weekly-report?format=docx&day={today}")
    assert docx.content[:2] == b"PK"
    html = api.get(f"/api/hotline/weekly-report?format=html&day={today}").text
    assert "群众诉求分析研判周报" in html and "热点问题" in html
    api.get("/api/hotline/weekly-report?format=pdf", status=422)
    api.get("/api/hotline/analysis?since=2026-12-07&until=2026-12-01", status=422)


def test_automation_acts_on_the_model_only_above_its_class_threshold(api: Api, history: dict[str, list[str]]) -> None:
    v = _train(api)
    sure = api.submit(title="水管爆了", description="马路上自来水管爆了一直在喷水", event_class_code=None)
    # no threshold for the class: the model's view is recorded, a person decides
    got = api.post(f"/api/events/{sure['number']}/model-decision", "alice")
    assert got["class_code"] == "0301" and got["acted"] is False and got["state"] == "registered"
    api.request("PUT", "/api/models/thresholds/0301", "alice", 403, json={"threshold": 0.3})
    assert api.request("PUT", "/api/models/thresholds/0301", "admin", 200, json={"threshold": 0.3})["threshold"] == 0.3
    api.request("PUT", "/api/models/thresholds/0301", "admin", 422, json={"threshold": 1.5})
    api.request("PUT", "/api/models/thresholds/7777", "admin", 404, json={"threshold": 0.5})
    got = api.post(f"/api/events/{sure['number']}/model-decision", "alice")
    assert got["acted"] is True and got["state"] == "dispatched" and got["model_version"] == v.version
    event = api.get(f"/api/events/{sure['number']}")
    assert event["event_class_code"] == "0301"
    decisions = [e for e in api.get(f"/api/events/{sure['number']}/timeline") if e["action"] == "model.decide"]
    assert [d["payload"]["acted"] for d in decisions] == [False, True]
    assert decisions[-1]["payload"]["model_version"] == v.version and decisions[-1]["payload"]["score"] >= 0.3
    # a class whose threshold the model does not reach stays with people
    api.request("PUT", "/api/models/thresholds/0201", "admin", 200, json={"threshold": 0.99})
    unsure = api.submit(title="垃圾", description="路边有点垃圾", event_class_code=None)
    assert api.post(f"/api/events/{unsure['number']}/model-decision", "alice")["acted"] is False
    api.post(f"/api/events/{sure['number']}/model-decision", "alice", status=409)  # no longer registered


def test_the_scheduled_retraining_runs_only_when_there_is_something_new(
        api: Api, history: dict[str, list[str]]) -> None:
    from datetime import UTC, datetime

    from shuzhi.services import scheduler

    assert any(job.name == "hotline.retrain" for job in scheduler.PERIODIC_JOBS)
    uow = UnitOfWork(api.client.app.state.session_factory)
    first = models.retrain_job(uow, datetime.now(UTC))
    assert first is not None and first.active and first.note == "scheduled retraining"
    assert models.retrain_job(uow, datetime.now(UTC)) is None  # nothing new since
    api.post(f"/api/events/{history['ambiguous'][0]}/reclassify", "alice",
             {"event_class_code": "0301", "reason": "更正"})
    second = models.retrain_job(uow, datetime.now(UTC))
    assert second is not None and second.version == first.version + 1 and second.corrections == 1
