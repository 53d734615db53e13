"""The vital-signs page, the cockpit's sector strip and the phone's risk points name every text by a
catalogue key that exists, including the keys they build from a colour, a reason or a state."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shuzhi.domain.risk_points import PointState
from shuzhi.domain.thresholds import LEVELS
from shuzhi.domain.vital_signs import COLOURS
from shuzhi.entrypoints.web.messages_zh import MESSAGES

WEB = Path(__file__).parents[2] / "src/shuzhi/entrypoints/web"


@pytest.mark.parametrize("name", ["static/js/vital_signs.js", "static/js/phone_risk.js", "static/js/cockpit.js",
                                  "templates/vital_signs.html", "templates/cockpit.html", "templates/phone.html"])
def test_every_literal_key_is_in_the_catalogue(name: str) -> None:
    text = (WEB / name).read_text(encoding="utf-8")
    keys = set(re.findall(r'\bt\("([a-z_.0-9]+)"', text)) | set(re.findall(r't\["([a-z_.0-9]+)"\]', text))
    assert keys and not sorted(k for k in keys if k not in MESSAGES)


def test_the_keys_built_from_colours_reasons_and_states_exist() -> None:
    built = [f"vitals.colour.{c}" for c in (*COLOURS, "none")]
    built += [f"vitals.reason.{r}" for r in ("warning", "pending", "stale", "no_data", "none")]
    built += [f"warning_level.{lv}" for lv in LEVELS] + [f"risk.state.{s.value}" for s in PointState]
    built += [f"phone.risk.state.{s.value}" for s in PointState]
    built += [f"vitals.short.{c}" for c in COLOURS if c != "green"]
    assert not [k for k in built if k not in MESSAGES]


def test_the_phones_risk_points_use_only_the_messages_the_phone_page_carries() -> None:
    text = (WEB / "static/js/phone_risk.js").read_text(encoding="utf-8")
    keys = set(re.findall(r'\bt\((?:"|`)([a-z_.0-9]+)', text))
    assert keys and all(k.startswith("phone.") for k in keys), sorted(keys)
