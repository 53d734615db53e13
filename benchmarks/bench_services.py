"""The one window's two figures (issue 24: Services).

* A bundle with 8 matters (8 departments; 6 in stage 1, 2 in stage 2) splits and dispatches ≤ 200 ms:
  one :func:`shuzhi.services.window.cases.apply` — check the applicant, answers, form and materials,
  split into department shares, register the event, dispatch stage 1's six tasks with their working-time
  deadlines (and, at the flush, their supervision clocks), write the timeline, commit.
* The window page's matter search answers ≤ 100 ms over 5,000 matters: one
  :func:`shuzhi.services.window.catalogue.search` (every word of the query in name, keywords, code or
  department; bundles first), over a catalogue of 5,000 active matters.

Setup: a dedicated database ``bench_services`` on the local PostgreSQL (created if missing): a district
with one town, 40 departments, a town service point, 5,000 matters and the 8-matter bundle. Each figure
is the median of the repetitions, with the worst; run on a shared machine it is labelled "under load".
The record (``_results.py``) notes the machine, its load, git and the database's settings with every
figure; ``--quick`` (5 repetitions, 500 matters) writes to ``results-quick.json`` only.
Run: ``.venv/bin/python benchmarks/bench_services.py [--repeat 30] [--matters 5000] [--reuse] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import finish, record

ADMIN_URL = os.environ.get("SHUZHI_BENCH_ADMIN_URL", "postgresql://postgres@localhost/postgres")
DB = "bench_services"
URL = f"postgresql+psycopg://postgres@localhost/{DB}"
MATTERS = 5000
DEPTS = 40
WORDS = ["登记", "许可", "备案", "补贴", "认定", "变更", "注销", "申领", "审批", "转移"]
THINGS = ["营业执照", "医保参保", "社保卡", "户口", "宅基地", "食品经营", "道路运输", "排污", "建设工程", "教师资格",
          "居住证", "养老保险", "低保", "残疾人补贴", "农机", "采伐", "公证", "演出", "外贸", "危化品"]


def prepare(reuse: bool) -> Any:
    from sqlalchemy import select

    from shuzhi.adapters.db.engine import make_engine, make_session_factory
    from shuzhi.adapters.db.tables import Area, Base, Person, Unit
    from shuzhi.adapters.db.tables_public_services import ServiceWindow
    from shuzhi.domain.services_catalogue import parse_matter
    from shuzhi.services.window.catalogue import _store_matter

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone()
        if exists and not reuse:
            conn.execute(f"DROP DATABASE {DB} WITH (FORCE)")
        if not exists or not reuse:
            conn.execute(f"CREATE DATABASE {DB}")
    engine = make_engine(URL)
    factory = make_session_factory(engine)
    Base.metadata.create_all(engine)
    with factory() as s:
        if s.scalar(select(Unit.id).limit(1)) is not None:
            return factory
        from datetime import UTC, datetime

        at = datetime.now(UTC)
        city = Area(code="500000", name="重庆市", level="city", path="/500000/")
        s.add(city)
        s.flush()
        district = Area(code="500111", name="大足区", level="district", parent_id=city.id, path="/500000/500111/")
        s.add(district)
        s.flush()
        town = Area(code="500111001", name="龙岗街道", level="town", parent_id=district.id,
                    path="/500000/500111/500111001/")
        s.add(town)
        s.flush()
        dc = Unit(code="C500111", name="大足区城市运行和治理中心", kind="centre", level="district", area_id=district.id)
        s.add(dc)
        s.flush()
        tc = Unit(code="C500111001", name="龙岗街道城市运行和治理中心", kind="centre", level="town", area_id=town.id,
                  parent_id=dc.id)
        s.add(tc)
        depts = [Unit(code=f"D500111-{i:02d}", name=f"大足区第{i}局", kind="department", level="district",
                      area_id=district.id, parent_id=dc.id) for i in range(1, DEPTS + 1)]
        s.add_all(depts)
        s.flush()
        s.add(Person(code="clerk", name="柯丽", unit_id=tc.id, role="handler"))
        s.add(ServiceWindow(code="W-LG", name="龙岗街道便民服务中心", kind="town", unit_id=tc.id, area_id=town.id,
                            area_path=town.path, address=""))
        for n in range(MATTERS):
            d = depts[n % DEPTS]
            g = parse_matter({
                "code": f"M{n:05d}", "name": f"{THINGS[n % len(THINGS)]}{WORDS[(n // 7) % len(WORDS)]}（{n}）",
                "department_code": d.code, "legal_basis": "依据", "statutory_days": 20, "promised_days": 1 + n % 10,
                "places": ["district_hall", "town", "village", "online"], "keywords": THINGS[(n * 3) % len(THINGS)],
                "materials": [{"code": "id", "name": "身份证"}, {"code": "proof", "name": "证明", "deferrable": True}]})
            _store_matter(s, g, d, at)
        s.commit()
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.unit_of_work import UnitOfWork
    from shuzhi.services.window.catalogue import save_bundle

    save_bundle(UnitOfWork(factory), {
        "code": "eight", "name": "八事项一件事", "questions": [{"key": "q", "text": "？"}],
        "fields": [{"key": "name", "label": "姓名"}, {"key": "pid", "label": "身份证号", "kind": "id_number"},
                   {"key": "phone", "label": "电话", "kind": "phone"}],
        "items": [{"matter_code": f"M{n:05d}", "stage": 1 if n < 6 else 2, "fields": ["name", "pid", "phone"]}
                  for n in range(8)]}, SYSTEM)
    return factory


def bench_apply(factory: Any, repeat: int) -> tuple[list[float], int, float, float]:
    """Wall times, tasks dispatched, CPU ms of this process and SQL statements per application (the
    last two do not depend on the machine's load)."""
    from sqlalchemy import select

    from shuzhi.adapters.db.tables import Person
    from shuzhi.services.actors import ALL_PERMISSIONS, Actor
    from shuzhi.services.unit_of_work import UnitOfWork
    from shuzhi.services.window.cases import Applicant, Apply, apply

    with factory() as s:
        p = s.scalar(select(Person).where(Person.code == "clerk"))
        clerk = Actor(code="clerk", name=p.name, person_id=p.id, unit_id=p.unit_id, role="handler",
                      permissions=ALL_PERMISSIONS, area_paths=None)
    pid = "500111199001011232"
    cmd = Apply(window_code="W-LG", applicant=Applicant("person", "张三", pid, "13912345678"), bundle_code="eight",
                mode="nearest", answers={"q": "yes"}, form={"name": "张三", "pid": pid, "phone": "13912345678"},
                materials={f"M{n:05d}": {"id": "provided", "proof": "provided"} for n in range(8)})
    apply(UnitOfWork(factory), cmd, clerk)  # warm-up: caches, prepared statements
    from sqlalchemy import event

    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    engine = factory.kw["bind"]
    event.listen(engine, "before_cursor_execute", count)
    times, tasks = [], 0
    cpu = time.process_time()
    for _ in range(repeat):
        started = time.perf_counter()
        receipt = apply(UnitOfWork(factory), cmd, clerk)
        times.append(time.perf_counter() - started)
        tasks = sum(1 for d in receipt.departments if d["stage"] == 1)
    cpu_ms = (time.process_time() - cpu) / repeat * 1000
    event.remove(engine, "before_cursor_execute", count)
    return times, tasks, cpu_ms, statements[0] / repeat


def bench_search(factory: Any, repeat: int) -> list[float]:
    from shuzhi.services.actors import SYSTEM
    from shuzhi.services.unit_of_work import UnitOfWork
    from shuzhi.services.window.catalogue import search

    queries = ["营业执照", "医保 参保", "许可", "第7局", "宅基地 审批", "社保卡 变更", "M0123", "不存在的事项"]
    search(UnitOfWork(factory), SYSTEM, "户口", place="town")
    times = []
    for i in range(repeat * len(queries)):
        started = time.perf_counter()
        search(UnitOfWork(factory), SYSTEM, queries[i % len(queries)], place="town")
        times.append(time.perf_counter() - started)
    return times


def stored_matters(factory: Any) -> int:
    from sqlalchemy import func, select

    from shuzhi.adapters.db.tables_public_services import ServiceMatter

    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(ServiceMatter)) or 0)


def main() -> int:
    global MATTERS
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--matters", type=int, default=MATTERS)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5 repetitions, 500 matters, "
                        "figures to results-quick.json")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.matters = 5, 500
    MATTERS = args.matters
    started = time.perf_counter()
    factory = prepare(args.reuse)
    print(f"prepared in {time.perf_counter() - started:.0f} s")
    stored = stored_matters(factory)  # what the figures ran on, also after --reuse
    times, tasks, cpu_ms, statements = bench_apply(factory, args.repeat)
    record("services_bundle_8_matters_apply", round(statistics.median(times) * 1000, 1), "ms", 200.0, "lower",
           samples=[round(x * 1000, 2) for x in times], database=URL,
           volume={"matters": stored, "bundle_matters": 8, "departments": DEPTS, "tasks_dispatched": tasks},
           cpu_ms=round(cpu_ms, 1), statements=round(statements, 1), repeat=args.repeat)
    st = bench_search(factory, args.repeat)
    st.sort()
    record("services_matter_search_5000", round(statistics.median(st) * 1000, 2), "ms", 100.0, "lower",
           samples=[round(x * 1000, 3) for x in st], database=URL,
           volume={"matters": stored, "queries": len(st)}, p95_ms=round(st[int(len(st) * 0.95) - 1] * 1000, 2))
    return finish()


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    sys.exit(main())
