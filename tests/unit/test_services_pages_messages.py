"""The window, the self-service rating page and the enterprise calls' page name every text by a catalogue
key that exists, including the keys they build from a level, a dimension or a state."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shuzhi.domain import two_way_ratings
from shuzhi.domain.events import TaskState
from shuzhi.domain.ratings import ONLINE_DIMENSIONS, Level
from shuzhi.entrypoints.web.messages_zh import MESSAGES

WEB = Path(__file__).parents[2] / "src/shuzhi/entrypoints/web"


@pytest.mark.parametrize("name", ["static/js/window.js", "static/js/rate.js", "static/js/whistles.js",
                                  "templates/window.html", "templates/rate.html", "templates/whistles.html"])
def test_every_literal_key_is_in_the_catalogue(name: str) -> None:
    text = (WEB / name).read_text(encoding="utf-8")
    keys = set(re.findall(r'\bt\("([a-z_.0-9]+)"', text)) | set(re.findall(r't\["([a-z_.0-9]+)"\]', text))
    assert keys and not sorted(k for k in keys if k not in MESSAGES)


def test_the_keys_built_from_levels_dimensions_and_states_exist() -> None:
    built = [f"window.level.{lv.value}" for lv in Level] + [f"rate.dim.{d}" for d in ONLINE_DIMENSIONS]
    built += [f"whistles.dim.{d}" for dims in two_way_ratings.DIMENSIONS.values() for d in dims]
    built += [f"whistles.rate.{d.value}" for d in two_way_ratings.Direction]
    built += [f"whistles.col.{c}" for c in ("department", "state", "due", "reported", "cooperation")]
    built += [f"whistles.fig.{c}" for c in ("ratings", "good_rate", "average")]
    built += [f"task_state.{s.value}" for s in TaskState]
    assert not [k for k in built if k not in MESSAGES]
