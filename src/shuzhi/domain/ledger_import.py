"""Reading a ledger that an office kept in Excel: headers, the column mapping, unit names.

Government spreadsheets have a title row merged across the sheet ("2024年大足区改革项目台账"),
two-row headers with merged groups ("责任单位" over "牵头单位 | 配合单位"), and dates written any way.
The adapter hands over the grid with merged cells filled; here we find the header rows, flatten them
to one name per column ("责任单位/牵头单位"), guess a mapping onto the ledger's fields from synonyms,
and match unit names to the organisation with suggestions for near misses. Pure: no I/O.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# The standard fields an imported column can feed, with the headings offices use for them.
STANDARD_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("编号", "序号", "项目编号", "问题编号", "建议编号", "提案编号", "案号"),
    "title": ("任务", "改革任务", "改革项目", "项目名称", "工作任务", "重点任务", "事项", "事项名称", "任务名称",
              "问题", "问题清单", "建议标题", "提案标题", "标题", "案由"),
    "lead_unit": ("牵头单位", "责任单位", "主办单位", "承办单位", "整改责任单位", "牵头部门"),
    "assist_units": ("配合单位", "协办单位", "协同单位", "参与单位", "会办单位"),
    "leader": ("责任领导", "分管领导", "牵头领导", "区领导", "领衔领导"),
    "person": ("责任人", "具体责任人", "联系人", "经办人"),
    "measures": ("措施", "工作措施", "整改措施", "推进措施", "具体举措", "主要措施"),
    "time_limit": ("完成时限", "时限", "截止时间", "完成时间", "整改时限", "办理时限", "计划完成时间"),
    "progress": ("进度", "完成进度", "推进情况", "进展情况", "完成情况", "整改进展"),
    "source": ("问题来源", "来源", "反馈来源"),
    "finding": ("问题描述", "发现问题", "具体问题", "问题表现", "反馈问题"),
    "proposer": ("提出人", "代表", "委员", "领衔代表", "提案人", "建议人"),
    "reply_due": ("答复期限", "答复时限", "办复时限"),
}

STANDARD_LABELS = {"code": "编号", "title": "任务/事项", "lead_unit": "牵头单位", "assist_units": "配合单位",
                   "leader": "责任领导", "person": "责任人", "measures": "措施/节点", "time_limit": "完成时限",
                   "progress": "进度", "source": "问题来源", "finding": "问题描述", "proposer": "提出人",
                   "reply_due": "答复期限"}


@dataclass(frozen=True)
class Header:
    """Column names (one per column, empty for an unnamed column) and where the data begins (0-based)."""

    names: list[str]
    data_start: int


def _distinct(row: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(v for v in row if v))


def _looks_like_data(row: Sequence[str]) -> bool:
    cells = [v for v in row if v]
    numeric = sum(1 for v in cells if re.fullmatch(r"[\d.%/\-年月日]+", v))
    return bool(cells) and numeric >= max(1, len(cells) // 2)


def detect_header(grid: Sequence[Sequence[str]]) -> Header:
    """Find the header in a grid whose merged cells were filled with their top-left value.

    * leading rows with fewer than two distinct values are titles or notes (a merged title fills the
      whole row with one text) and are skipped;
    * the first row with two or more distinct values is the header;
    * the row below is a second header row when the first has a horizontally merged group (the same
      text in adjacent columns) and the row below names those columns differently and is not data.
    Names are "group/sub" under a group, the header text elsewhere.
    """
    i = 0
    while i < len(grid) and len(_distinct(grid[i])) < 2:
        i += 1
    if i >= len(grid):
        raise ValueError("没有找到表头：请确认第一张工作表有列名行")
    top = [v.strip() for v in grid[i]]
    width = max(len(r) for r in grid)
    top += [""] * (width - len(top))
    grouped = {j for j in range(1, width) if top[j] and top[j] == top[j - 1]}
    grouped |= {j - 1 for j in grouped}
    names = list(top)
    start = i + 1
    if grouped and start < len(grid) and not _looks_like_data(grid[start]):
        below = [v.strip() for v in grid[start]] + [""] * width
        if any(below[j] and below[j] != top[j] for j in grouped):
            for j in range(width):
                sub = below[j]
                if j in grouped and sub and sub != top[j]:
                    names[j] = f"{top[j]}/{sub}"
                elif not top[j] and sub:
                    names[j] = sub
            start += 1
    # the same name twice (e.g. two "备注") gets a number, so every column can be mapped
    seen: dict[str, int] = {}
    for j, n in enumerate(names):
        if not n:
            continue
        if n in seen:
            seen[n] += 1
            names[j] = f"{n}({seen[n]})"
        else:
            seen[n] = 1
    return Header(names, start)


def _norm(text: str) -> str:
    return re.sub(r"[\s（）()【】\[\]：:、/\\*＊]", "", text)


def guess_mapping(headers: Sequence[str], custom: Mapping[str, str]) -> dict[str, str]:
    """``{header: target}`` for every header that looks like a standard field or a custom column
    (``custom`` maps column key → label). Each target is used once, by the closest header."""
    targets: dict[str, tuple[str, ...]] = dict(STANDARD_FIELDS)
    for key, label in custom.items():
        targets[f"fields.{key}"] = (label,)
    scored: list[tuple[float, str, str]] = []
    for h in headers:
        if not h:
            continue
        parts = [_norm(p) for p in h.split("/") if p]
        for target, names in targets.items():
            best = 0.0
            for part in parts:
                for n in names:
                    nn = _norm(n)
                    if part == nn:
                        score = 1.0
                    elif nn in part or part in nn:
                        score = 0.8 * min(len(nn), len(part)) / max(len(nn), len(part)) + 0.15
                    else:
                        score = difflib.SequenceMatcher(None, part, nn).ratio() * 0.8
                    # the sub-heading ("牵头单位" under "责任单位") is the more specific name
                    if part is parts[-1]:
                        score += 0.01
                    best = max(best, score)
            if best >= 0.6:
                scored.append((best, h, target))
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for _score, h, target in sorted(scored, key=lambda x: -x[0]):
        if h in mapping or target in used:
            continue
        mapping[h] = target
        used.add(target)
    return mapping


@dataclass
class UnitMatcher:
    """Unit names as people type them, matched to the organisation.

    Exact names and codes match; so does a name with the district's prefix left off ("区发改委" for
    "大足区发改委") when exactly one unit fits. Anything else is refused with up to three suggestions
    (difflib's closest names), and the person confirms one in the preview; confirmations are kept as
    aliases for the ledger's next import.
    """

    units: Mapping[str, int]  # name → id
    codes: Mapping[str, int] = field(default_factory=dict)
    aliases: Mapping[str, int] = field(default_factory=dict)

    def match(self, text: str) -> tuple[int | None, list[str]]:
        name = text.strip()
        if not name:
            return None, []
        for table in (self.aliases, self.units, self.codes):
            if name in table:
                return table[name], []
        plain = _norm(name)
        by_norm = [(n, i) for n, i in self.units.items() if _norm(n) == plain]
        if len(by_norm) == 1:
            return by_norm[0][1], []
        tails = [(n, i) for n, i in self.units.items() if _norm(n).endswith(plain) and len(plain) >= 3]
        if len(tails) == 1:
            return tails[0][1], []
        candidates = list(self.units)
        close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.45)
        contains = [n for n in candidates if plain and (plain in _norm(n) or _norm(n) in plain)]
        suggestions = list(dict.fromkeys([*close, *contains]))[:3]
        return None, suggestions


def split_units(text: str) -> list[str]:
    """"区发改委、区财政局;区住建委" → three names (separators offices use)."""
    return [p.strip() for p in re.split(r"[、,，;；/\n]+", text) if p.strip()]


def split_measures(text: str) -> list[str]:
    """Measures written as one cell, numbered or one per line: "1.…；2.…" → the separate measures."""
    if not text.strip():
        return []
    parts = re.split(r"(?:^|[\n；;])\s*(?:\d+[.、．)）]|[（(]\d+[)）]|[一二三四五六七八九十]+、)?", text)
    out = [p.strip(" ；;。") for p in parts if p and p.strip(" ；;。")]
    return out or [text.strip()]


_PCT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*%")


def parse_progress(text: str) -> int | None:
    """"60%" / "0.6" / "已完成" / "完成60%" → a percentage; None when no figure is given."""
    t = text.strip()
    if not t:
        return None
    if t in {"已完成", "完成", "已办结", "办结", "已销号"}:
        return 100
    if t in {"未启动", "未开始"}:
        return 0
    m = _PCT.search(t)
    if m:
        return max(0, min(100, round(float(m[1]))))
    try:
        v = float(t)
    except ValueError:
        return None
    return max(0, min(100, round(v * 100 if v <= 1 else v)))
