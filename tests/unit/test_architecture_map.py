"""docs/architecture.md stays true to the tree: its map is the script's output, its paths exist."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("architecture_map", ROOT / "scripts" / "architecture_map.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_map_is_the_tree() -> None:
    script = _script()
    assert script.current() == script.render(), "run: python scripts/architecture_map.py --write"


def test_every_path_the_page_names_exists() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:[a-z_]+/)+[a-z_]+\.py)`", text))
    assert named, "the page names no files"
    bases = [ROOT, ROOT / "src", ROOT / "src" / "shuzhi", ROOT / "src" / "shuzhi" / "services"]
    missing = [p for p in sorted(named) if "<" not in p and not any((b / p).exists() for b in bases)]
    assert missing == []
