"""Automation at intake: a new hotline report of a class an administrator opened to automation is
classified by the model and dispatched by the rules when the model's score clears the class's
threshold — with the model version and score on the timeline; below it nothing automatic happens."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Api
from tests.integration.test_hotline import _train, history  # noqa: F401  (the fixture)


def _lines(api: Api, number: str) -> list[dict[str, Any]]:
    return api.get(f"/api/events/{number}/timeline")


def test_a_new_report_above_its_class_threshold_is_classified_and_dispatched(
        api: Api, history: dict[str, list[str]]) -> None:  # noqa: F811
    v = _train(api)
    api.request("PUT", "/api/models/thresholds/0301", "admin", 200, json={"threshold": 0.3})
    got = api.submit(title="水管爆了", description="马路上自来水管爆了一直在喷水", event_class_code=None)
    event = api.get(f"/api/events/{got['number']}")
    assert event["event_class_code"] == "0301" and event["state"] == "dispatched"
    lines = _lines(api, got["number"])
    actions = [e["action"] for e in lines]
    assert actions.index("event.reclassify") < actions.index("model.decide") < actions.index("event.dispatch")
    decided = next(e for e in lines if e["action"] == "model.decide")["payload"]
    assert decided["acted"] is True and decided["at_intake"] is True
    assert decided["model_version"] == v.version and decided["class"] == "0301"
    assert decided["score"] >= decided["threshold"] == 0.3


def test_below_the_threshold_or_without_one_nothing_automatic_happens(
        api: Api, history: dict[str, list[str]]) -> None:  # noqa: F811
    _train(api)
    # no threshold for the class: registered, unclassified, for the duty officer
    free = api.submit(title="水管爆了", description="马路上自来水管爆了一直在喷水", event_class_code=None)
    # a threshold the model's score does not reach
    api.request("PUT", "/api/models/thresholds/0201", "admin", 200, json={"threshold": 0.99})
    unsure = api.submit(title="垃圾", description="路边有点垃圾", event_class_code=None)
    # the desk chose another class than the model's: people decided, the model does not overrule them
    api.request("PUT", "/api/models/thresholds/0301", "admin", 200, json={"threshold": 0.3})
    chosen = api.submit(title="水管爆了", description="马路上自来水管爆了一直在喷水", event_class_code="0101")
    for number, code in ((free["number"], None), (unsure["number"], None), (chosen["number"], "0101")):
        event = api.get(f"/api/events/{number}")
        assert event["state"] == "registered" and event["event_class_code"] == code
        assert not {"model.decide", "event.dispatch", "event.reclassify"} & {e["action"] for e in _lines(api, number)}
