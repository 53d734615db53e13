"""一贯到底's page and the cockpit's town panel name every text by a catalogue key that exists, including
the keys they build from a level, a counter or a move up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shuzhi.domain.areas import AreaLevel
from shuzhi.entrypoints.web.messages_zh import MESSAGES
from shuzhi.services.levels import UP_ACTIONS, WARNING_RANK

WEB = Path(__file__).parents[2] / "src/shuzhi/entrypoints/web"


@pytest.mark.parametrize("name", ["static/js/levels.js", "static/js/cockpit_town.js", "templates/levels.html"])
def test_every_literal_key_is_in_the_catalogue(name: str) -> None:
    text = (WEB / name).read_text(encoding="utf-8")
    keys = set(re.findall(r'\bt\("([a-z_.0-9]+)"', text)) | set(re.findall(r't\["([a-z_.0-9]+)"\]', text))
    keys |= set(re.findall(r'"(town_cockpit\.[a-z_.]+|levels\.[a-z_.]+)"', text))
    assert keys and not sorted(k for k in keys if k not in MESSAGES)


def test_the_keys_built_from_levels_counters_and_moves_exist() -> None:
    built = [f"level.{lv.value}" for lv in AreaLevel] + [f"warning_level.{lv}" for lv in WARNING_RANK]
    built += [f"levels.{k}" for k in ("open", "overdue", "received_today", "closed_today", "warnings", "vital")]
    built += [f"action.{a}" for a in UP_ACTIONS] + ["nav.levels"]
    assert not [k for k in built if k not in MESSAGES]
