"""The desk's pages name every text by a catalogue key that exists, and every error the pages' helper can
produce (by status, by a service message, by pydantic's error type) has its Chinese words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shuzhi.entrypoints.web.messages_zh import MESSAGES

JS = Path(__file__).parents[2] / "src/shuzhi/entrypoints/web/static/js"


@pytest.mark.parametrize("name", ["core.js", "event.js", "inbox.js", "forms.js", "town.js"])
def test_every_literal_key_of_the_desk_pages_is_in_the_catalogue(name: str) -> None:
    keys = set(re.findall(r'\bt\("([a-z_.0-9]+)"', (JS / name).read_text(encoding="utf-8")))
    assert keys and not sorted(k for k in keys if k not in MESSAGES)


def test_every_error_code_of_the_helper_has_chinese_words() -> None:
    core = (JS / "core.js").read_text(encoding="utf-8")
    codes = set(re.findall(r'/i, "([a-z_]+)"\]', core))
    assert {"stale", "state", "unknown_unit"} <= codes
    codes |= {f"status_{s}" for s in (400, 401, 403, 404, 409, 413, 422, 429, 503)} | {"status_other"}
    codes |= {"missing", "string_too_long", "value_error", "int_parsing", "datetime_parsing", "timezone_aware"}
    missing = sorted(c for c in codes if f"error.{c}" not in MESSAGES)
    assert not missing
    assert all(not re.search("[A-Za-z]{3,}", MESSAGES[f"error.{c}"]) for c in codes)
