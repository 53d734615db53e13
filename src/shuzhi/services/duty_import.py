"""Import a centre's duty roster from the Excel it already keeps: one row per day.

The usual sheet (值班表) has a date, the leader on duty (带班领导) and the officer(s) (值班员, several
separated by 、 or ，); a day's shift runs from the handover time (default 08:30 local) to the same
time the next day. Optional columns 接班时间 / 交班时间 override the span of one row. Other columns
(星期, 联系电话, 备注 …) are kept as the note or ignored.

People are named as the sheet names them — by name (or staff code); a name two people share in the
centre's area is an error asking for the staff code. All or nothing: every problem is reported with
its row and column, in Chinese (the people who keep these sheets read the report), and nothing is
written while one remains. Re-importing a day replaces that day's shifts of the unit, so a corrected
sheet can be imported again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, select

from shuzhi.adapters.db.tables import Person, Unit
from shuzhi.adapters.db.tables_duty import DutyShift
from shuzhi.adapters.tabular import ROW
from shuzhi.domain import duty
from shuzhi.domain.duty import LOCAL, DutyRole, Shift
from shuzhi.domain.permissions import DUTY_WRITE
from shuzhi.services.actors import Actor
from shuzhi.services.duty_roster import clashing, duty_unit, eligible_people, ensure_own
from shuzhi.services.importing import ImportReport, RowError
from shuzhi.services.security import audit, authz
from shuzhi.services.unit_of_work import UnitOfWork

#: canonical column → the headers centres use for it
ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("日期", "值班日期", "date"),
    "leader": ("带班领导", "值班领导", "带班", "leader", "leader_on_duty"),
    "officers": ("值班员", "值班人员", "值班人", "officer", "officers"),
    "start_time": ("接班时间", "开始时间", "start_time"),
    "end_time": ("交班时间", "结束时间", "end_time"),
    "note": ("备注", "note"),
}
HEADER = {"date": "日期", "leader": "带班领导", "officers": "值班员", "start_time": "接班时间",
          "end_time": "交班时间", "note": "备注"}
_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[T ]00:00(?::00)?)?\s*$")
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")
_SEPARATORS = re.compile(r"[、，,;；/\s]+")
#: "张三(zhangsan)" / "张三（13800138000）": the name with a code or phone beside it
_WITH_CODE = re.compile(r"^(.+?)\s*[(（]\s*([^()（）]+?)\s*[)）]$")


def parse_date(value: str) -> date | None:
    for pattern in (_DATE, _COMPACT):
        m = pattern.match(value)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return None
    return None


def _parse_time(value: str) -> time | None:
    text = value.strip().replace("：", ":")
    for fmt in ("%H:%M", "%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).time()
        except ValueError:
            continue
    return None


class _Sheet:
    """The rows with canonical column names, and the report that collects every problem."""

    def __init__(self, rows: Iterable[Mapping[str, str]]) -> None:
        self.report = ImportReport()
        self.headers: dict[str, str] = {}  # canonical → the header the file used
        lookup = {alias.lower(): canonical for canonical, names in ALIASES.items() for alias in names}
        self.items: list[dict[str, str]] = []
        for raw in rows:
            row = {ROW: str(raw.get(ROW, "0"))}
            for key, value in raw.items():
                canonical = lookup.get(key.strip().lower()) if key != ROW else None
                if canonical:
                    row[canonical] = value.strip()
                    self.headers.setdefault(canonical, key.strip())
            self.items.append(row)

    def error(self, row: Mapping[str, str] | None, column: str | None, message: str) -> None:
        number = int(row.get(ROW, "1")) if row else 1
        value = row.get(column) if (row and column) else None
        header = self.headers.get(column, HEADER.get(column, column)) if column else None
        where = f"第{number}行" + (f"「{header}」列" if header else "")
        self.report.errors.append(RowError(number, header, value, f"{where}：{message}"))


class _People:
    """Resolves the sheet's names to people who may stand a shift at the unit."""

    def __init__(self, unit: Unit, people: list[Person]) -> None:
        self.unit = unit
        self.by_code = {p.code: p for p in people}
        self.by_name: dict[str, list[Person]] = {}
        for p in people:
            self.by_name.setdefault(p.name, []).append(p)

    def find(self, text: str) -> tuple[Person | None, str]:
        text = text.strip()
        m = _WITH_CODE.match(text)
        if m:
            name, hint = m[1].strip(), m[2].strip()
            person = self.by_code.get(hint)
            if person is None:
                same = [p for p in self.by_name.get(name, []) if p.phone == hint]
                person = same[0] if len(same) == 1 else None
            if person is not None and person.name == name:
                return person, ""
            return None, f"找不到「{text}」：括号内应为此人的工号或手机号"
        if text in self.by_code:
            return self.by_code[text], ""
        found = self.by_name.get(text, [])
        if len(found) > 1:
            own = [p for p in found if p.unit_id == self.unit.id]
            if len(own) == 1:
                return own[0], ""
            codes = "、".join(p.code for p in found)
            return None, f"「{text}」有 {len(found)} 人同名（工号 {codes}），请写成「姓名(工号)」"
        if not found:
            return None, f"「{text}」不是{self.unit.name}或其辖区单位的在岗人员（请先在人员名单中添加）"
        return found[0], ""


def _spans(sheet: _Sheet, row: dict[str, str], day: date, handover: time) -> tuple[datetime, datetime] | None:
    start, end = duty.day_span(day, handover)
    ok = True
    if row.get("start_time"):
        t = _parse_time(row["start_time"])
        if t is None:
            sheet.error(row, "start_time", f"「{row['start_time']}」不是时刻（应为 HH:MM）")
            ok = False
        else:
            start = datetime.combine(day, t, tzinfo=LOCAL).astimezone(start.tzinfo)
    if row.get("end_time"):
        t = _parse_time(row["end_time"])
        if t is None:
            sheet.error(row, "end_time", f"「{row['end_time']}」不是时刻（应为 HH:MM）")
            ok = False
        else:
            local_start = start.astimezone(LOCAL)
            # an end at or before the start's clock time is the next morning's handover
            end_day = day + timedelta(days=1) if t <= local_start.time() else day
            end = datetime.combine(end_day, t, tzinfo=LOCAL).astimezone(start.tzinfo)
    return (start, end) if ok else None


def _rows_to_shifts(sheet: _Sheet, unit: Unit, people: _People,
                    handover: time) -> list[tuple[dict[str, str], str, Shift]]:
    """The shifts the sheet asks for, with the row and column each comes from."""
    out: list[tuple[dict[str, str], str, Shift]] = []
    seen: dict[date, str] = {}
    for row in sheet.items:
        raw = row.get("date", "")
        day = parse_date(raw)
        if not raw:
            sheet.error(row, "date", "日期为空")
            continue
        if day is None:
            sheet.error(row, "date", f"「{raw}」不是日期（应为 2026-12-07、2026/12/7 或 2026年12月7日）")
            continue
        if day in seen:
            sheet.error(row, "date", f"{day.isoformat()} 重复（第{seen[day]}行已有）")
            continue
        seen[day] = row[ROW]
        if not row.get("officers"):
            sheet.error(row, "officers", "值班员为空：每天至少一名值班员")
        span = _spans(sheet, row, day, handover)
        if span is None:
            continue
        wanted = [("leader", DutyRole.LEADER_ON_DUTY, n) for n in _names(row.get("leader", ""))]
        wanted += [("officers", DutyRole.OFFICER, n) for n in _names(row.get("officers", ""))]
        if len([w for w in wanted if w[1] is DutyRole.LEADER_ON_DUTY]) > 1:
            sheet.error(row, "leader", "同一天只能有一名带班领导")
            continue
        for column, role, name in wanted:
            person, why = people.find(name)
            if person is None:
                sheet.error(row, column, why)
                continue
            out.append((row, column, Shift(unit.id, person.id, role, span[0], span[1])))
    return out


def _names(value: str) -> list[str]:
    # split on separators, but not inside "姓名(工号)"
    protected = re.sub(r"[(（][^()（）]*[)）]", lambda m: m[0].replace(" ", "\0"), value)
    return [n.replace("\0", " ") for n in _SEPARATORS.split(protected) if n.strip()]


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0, 0), tzinfo=LOCAL)
    return start, start + timedelta(days=1)


def import_roster(uow: UnitOfWork, actor: Actor, unit_code: str, rows: Iterable[Mapping[str, str]], *,
                  handover: time = duty.DEFAULT_HANDOVER, dry_run: bool = False) -> ImportReport:
    """Replace the unit's shifts on each day of the sheet by the sheet's (``duty.write``, unit in scope).

    Counts per day: ``created`` (no shift stored that day), ``updated`` (different shifts replaced),
    ``unchanged`` (the same people at the same times).
    """
    authz.require(actor, DUTY_WRITE)
    with uow:
        s = uow.session
        unit = duty_unit(s, actor, unit_code, lock=True)
        ensure_own(s, actor, unit)
        sheet = _Sheet(rows)
        if not sheet.items:
            sheet.error(None, None, "文件没有数据行")
            return sheet.report
        for column in ("date", "officers"):
            if column not in sheet.headers:
                sheet.error(None, None, f"缺少「{HEADER[column]}」列（第1行应为列名：日期、带班领导、值班员）")
        if sheet.report.errors:
            return sheet.report
        people = _People(unit, eligible_people(s, unit))
        wanted = _rows_to_shifts(sheet, unit, people, handover)
        days = sorted({d for r, _, _ in wanted if (d := parse_date(r["date"])) is not None})
        replaced: dict[date, list[DutyShift]] = {}
        for day in days:
            a, b = _day_bounds(day)
            replaced[day] = list(s.scalars(select(DutyShift).where(
                DutyShift.unit_id == unit.id, DutyShift.starts_at >= a, DutyShift.starts_at < b)))
        gone = {r.id for rows_ in replaced.values() for r in rows_}
        if wanted:
            lo = min(w.starts_at for _, _, w in wanted)
            hi = max(w.ends_at for _, _, w in wanted)
            stored = [sh for sh in clashing(s, unit.id, sorted({w.person_id for _, _, w in wanted}), lo, hi)
                      if sh.id not in gone]
        else:
            stored = []
        names = {p.id: p.name for p in people.by_code.values()}
        accepted: list[Shift] = []
        for row, column, shift in wanted:
            problems = duty.check_shift(shift, stored + accepted)
            for p in problems:
                # a clash within the file names both people; one with a stored shift says so
                where = "本表另一行" if p.clash_id is None else "已排的班次"
                sheet.error(row, "leader" if p.field == "role" else column,
                            f"{names.get(shift.person_id, '')}：{p.message}（与{where}冲突）")
            if not problems:
                accepted.append(shift)
        if sheet.report.errors:
            return sheet.report
        by_day: dict[date, list[Shift]] = {}
        notes: dict[date, str] = {}
        for row, _, shift in wanted:
            day = parse_date(row["date"]) or date.min
            by_day.setdefault(day, []).append(shift)
            notes[day] = row.get("note", "")
        for day, shifts in by_day.items():
            old = {(r.person_id, r.role, r.starts_at, r.ends_at) for r in replaced.get(day, [])}
            new = {(sh.person_id, sh.role.value, sh.starts_at, sh.ends_at) for sh in shifts}
            if old == new:
                sheet.report.unchanged += 1
                continue
            if old:
                sheet.report.updated += 1
            else:
                sheet.report.created += 1
            if dry_run:
                continue
            ids = [r.id for r in replaced.get(day, [])]
            if ids:
                s.execute(delete(DutyShift).where(DutyShift.id.in_(ids)))
            s.add_all(DutyShift(unit_id=unit.id, person_id=sh.person_id, role=sh.role.value,
                                starts_at=sh.starts_at, ends_at=sh.ends_at, note=notes[day], source="import",
                                created_by=actor.code, updated_by=actor.code) for sh in shifts)
        if dry_run:
            return sheet.report
        s.flush()
        audit.record(s, actor, "duty.roster.import", f"unit:{unit.code}",
                     {"days": len(by_day), "created": sheet.report.created, "updated": sheet.report.updated,
                      "unchanged": sheet.report.unchanged})
        uow.commit()
        return sheet.report

