"""The pages added for the desk's configuration and patrols (plan templates, scoring schemes, the patrol
log, the evaluation's duty figures) name every text by a catalogue key that exists, and every problem the
editors translate has Chinese words with no English left in them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shuzhi.entrypoints.web.messages_zh import MESSAGES

WEB = Path(__file__).parents[2] / "src/shuzhi/entrypoints/web"


@pytest.mark.parametrize("name", ["plan_editor.js", "scheme_editor.js", "config_errors.js", "patrols.js",
                                  "eval_duty.js"])
def test_every_literal_key_of_the_scripts_is_in_the_catalogue(name: str) -> None:
    keys = set(re.findall(r'\bt\("([a-z_.0-9]+)"', (WEB / "static/js" / name).read_text(encoding="utf-8")))
    assert keys and not sorted(k for k in keys if k not in MESSAGES)


@pytest.mark.parametrize("name", ["plan_editor.html", "scheme_editor.html", "patrols.html", "evaluation.html"])
def test_every_key_of_the_templates_is_in_the_catalogue(name: str) -> None:
    keys = set(re.findall(r't\["([a-z_.0-9]+)"\]', (WEB / "templates" / name).read_text(encoding="utf-8")))
    assert keys and not sorted(k for k in keys if k not in MESSAGES)


def test_every_problem_the_editors_translate_reads_in_chinese() -> None:
    source = (WEB / "static/js/config_errors.js").read_text(encoding="utf-8")
    keys = set(re.findall(r'"(cfg\.err\.[a-z_]+)"', source))
    assert len(keys) > 30
    assert not sorted(k for k in keys if k not in MESSAGES)
    # placeholders aside, no English words reach the person
    assert not [k for k in keys if re.search("[A-Za-z]{3,}", re.sub(r"\{[a-z]+\}|unit:", "", MESSAGES[k]))]
