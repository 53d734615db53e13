"""The demo's senses: the indicator tree imported through the real importer, devices placed in the
district, and a deterministic reading simulator that feeds the real ingest service — for the replayed
history and live while the demo runs.

What the simulator produces (the same for the same seed and times):

- normal daily patterns (pressure dips at the evening peak, traffic and parking by the hour, air
  quality, hotline calls in office hours) with noise;
- storms: rainfall per town rises over hours to a peak and falls away; river gauges follow hours later
  (a lagged response to the district's rain) and recede over the next day; waterlogging, manhole tilt
  and opening, pump stations, hotline calls and evacuations go up with the rain. One storm lies in
  the replayed history (two days before its end) and one starts shortly after the live demo starts;
- equipment faults: devices whose value sticks for hours, and devices that go silent (gaps).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.tabular import ROW
from shuzhi.demo.district import DISTRICT_CODE, DemoDistrict
from shuzhi.demo.sensing_data import TREE
from shuzhi.domain.sensing import parse_frequency
from shuzhi.services.actors import Actor, resolve_actor
from shuzhi.services.importing import ImportReport
from shuzhi.services.sensing.indicators import import_devices, import_indicators
from shuzhi.services.sensing.ingest import ingest
from shuzhi.services.sensing.risk_points import import_risk_points
from shuzhi.services.unit_of_work import UnitOfWork

#: River gauges: (station name, town key) on the district's rivers (濑溪河, 窟窿河, 淮远河).
STATIONS = [("濑溪河龙岗站", "longgang"), ("濑溪河棠香站", "tangxiang"), ("濑溪河智凤站", "zhifeng"),
            ("濑溪河龙水站", "longshui"), ("濑溪河邮亭站", "youting"), ("窟窿河宝顶站", "baoding"),
            ("窟窿河中敖站", "zhongao"), ("淮远河玉龙站", "yulong")]
#: Sample towns for indicators measured at a few places (air quality, weather stations).
SAMPLE_TOWNS = ["longgang", "tangxiang", "zhifeng", "longshui", "baoding", "youting", "shima", "gaoping"]
#: Replayed history is at most this long (older sensor history adds volume, not insight, to a demo).
MAX_HISTORY_DAYS = 7
#: Readings per ingest call when replaying history.
BATCH = 20_000


@dataclass(frozen=True)
class IndicatorSpec:
    sector: tuple[str, str]
    runway: tuple[str, str]
    sub_runway: tuple[str, str]
    code: str
    name: str
    unit: str
    value_type: str
    frequency: str
    source: str
    owner: str
    where: str
    profile: str
    params: tuple[float, ...]


def parse_tree(text: str = TREE) -> list[IndicatorSpec]:
    sector = runway = sub = ("", "")
    out = []
    for line in text.strip().splitlines():
        if line.startswith("### "):
            code, name = line[4:].split(" ", 1)
            sub = (code, name)
        elif line.startswith("## "):
            code, name = line[3:].split(" ", 1)
            runway = (code, name)
        elif line.startswith("# "):
            code, name = line[2:].split(" ", 1)
            sector = (code, name)
        elif line.strip():
            code, name, unit, vt, freq, source, owner, where, sim = line.split("|")
            profile, _, args = sim.partition(":")
            params = tuple(float(a) for a in args.split(",")) if args else ()
            out.append(IndicatorSpec(sector, runway, sub, code, name, "" if unit == "-" else unit, vt, freq,
                                     source, owner, where, profile, params))
    return out


@dataclass(frozen=True)
class Series:
    indicator: str
    area: str
    device: str | None
    profile: str
    params: tuple[float, ...]
    value_type: str
    step_s: int
    salt: int
    town: int  # index of the town the series lies in (rain varies by town); -1 for the district


@dataclass
class Storm:
    start: datetime
    hours: float
    peak_mm_h: float


@dataclass
class Fault:
    series: str  # device code
    kind: str  # stuck|gap
    start: datetime
    end: datetime


@dataclass
class SensingPlan:
    """What the demo imports (rows for the importers) and simulates (series)."""

    indicators: list[IndicatorSpec]
    indicator_rows: list[dict[str, str]]
    device_rows: list[dict[str, str]]
    series: list[Series]
    towns: list[dict[str, Any]]
    #: 易涝点 (waterlogging points) at the depth gauges, watched by the gauge, the town's rainfall and
    #: the river gauge of the town when it has one (the import format of the risk point register).
    risk_point_rows: list[dict[str, str]] = field(default_factory=list)


def _town_codes(district: DemoDistrict, keys: list[str]) -> list[str]:
    by_key = {t["key"]: t["code"] for t in district.towns}
    return [by_key[k] for k in keys]


def build_plan(district: DemoDistrict) -> SensingPlan:
    """The indicator and device files, and every simulated series, for ``district``."""
    specs = parse_tree()
    towns = district.towns
    town_index = {t["code"]: i for i, t in enumerate(towns)}
    streets = [t["code"] for t in towns if t["street"]]
    samples = _town_codes(district, SAMPLE_TOWNS)
    urban_grids = [g for g in district.grids if g["street"]]
    stations = [(name, _town_codes(district, [key])[0]) for name, key in STATIONS]
    rows, devices, series = [], [], []
    grid_cursor = 0
    for n, spec in enumerate(specs):
        where = spec.where[0]
        count = int(spec.where[1:]) if len(spec.where) > 1 else 0
        level = {"D": "district", "G": "grid"}.get(where, "town")
        areas = {"U": streets, "S": samples, "G": streets}.get(where, [DISTRICT_CODE])
        owner = "C500111" if spec.owner == "C" else f"D500111-{spec.owner}"
        rows.append({
            "sector_code": spec.sector[0], "sector_name": spec.sector[1], "runway_code": spec.runway[0],
            "runway_name": spec.runway[1], "sub_runway_code": spec.sub_runway[0], "sub_runway_name": spec.sub_runway[1],
            "code": spec.code, "name": spec.name, "unit": spec.unit, "value_type": spec.value_type,
            "frequency": spec.frequency, "source_system": spec.source, "owner_unit_code": owner, "level": level,
            "areas": ";".join(areas), "realtime": "是" if parse_frequency(spec.frequency) < 86400 else "否",
            "warning": "是", "traceable": "是",
            # the runways' lead units are scored on these (issue #22): all but the minute-by-minute sensors
            "evaluable": "是" if parse_frequency(spec.frequency) >= 300 else "否",
            "retention_days": "", "description": "",
        })
        step = parse_frequency(spec.frequency)

        def add(area: str, device: str | None, town: int, salt: int, spec: IndicatorSpec = spec,
                step: int = step) -> None:
            series.append(Series(spec.code, area, device, spec.profile, spec.params, spec.value_type, step,
                                 salt, town))

        if where == "D":
            add(DISTRICT_CODE, None, -1, n * 1000)
        elif where in "TUS":
            for code in {"T": [t["code"] for t in towns], "U": streets, "S": samples}[where]:
                add(code, None, town_index[code], n * 1000 + town_index[code])
        elif where == "W":
            for i, (name, town) in enumerate(stations, start=1):
                code = f"{spec.code}-{i:03d}"
                devices.append({"code": code, "name": f"{name}{spec.name}", "indicator_code": spec.code,
                                "area_code": town, "lon": "", "lat": ""})
                add(town, code, town_index[town], n * 1000 + i)
        elif where == "P":
            order = streets + [t["code"] for t in towns if not t["street"]]
            for i in range(1, count + 1):
                town = order[(i * 5 + n) % len(order)] if i > len(streets) else order[i - 1]
                code = f"{spec.code}-{i:03d}"
                tname = next(t["name"] for t in towns if t["code"] == town)
                devices.append({"code": code, "name": f"{tname}{spec.name}监测点{i}", "indicator_code": spec.code,
                                "area_code": town, "lon": "", "lat": ""})
                add(town, code, town_index[town], n * 1000 + i)
        elif where == "G":
            for i in range(1, count + 1):
                grid = urban_grids[(grid_cursor * 37) % len(urban_grids)]
                grid_cursor += 1
                code = f"{spec.code}-{i:03d}"
                lon, lat = grid["point"]
                devices.append({"code": code, "name": f"{grid['name']}{spec.name}", "indicator_code": spec.code,
                                "area_code": grid["code"], "lon": f"{lon:.6f}", "lat": f"{lat:.6f}"})
                add(grid["code"], code, town_index[grid["town"]], n * 1000 + i)
    _lead_units(rows)
    return SensingPlan(specs, rows, devices, series, towns, _waterlogging_points(devices, towns, district))


def _lead_units(rows: list[dict[str, str]]) -> None:
    """The district centre leads every sector; a runway is led (跑道建设牵头单位) by the department that
    owns most of its indicators (the first such in the tree on a tie)."""
    owners: dict[str, Counter[str]] = {}
    for r in rows:
        owners.setdefault(r["runway_code"], Counter())[r["owner_unit_code"]] += 1
    for r in rows:
        r["sector_lead_unit_code"] = "C500111"
        r["runway_lead_unit_code"] = owners[r["runway_code"]].most_common(1)[0][0]


GRADES = ("较大", "一般", "一般", "低")


def _waterlogging_points(devices: list[dict[str, str]], towns: list[dict[str, Any]],
                         district: DemoDistrict) -> list[dict[str, str]]:
    town_of = {g["code"]: g["town"] for g in district.grids}
    names = {t["code"]: t["name"] for t in towns}
    rivers = {d["area_code"]: d["code"] for d in devices if d["indicator_code"] == "RIVER_LEVEL"}
    out = []
    for i, d in enumerate((d for d in devices if d["indicator_code"] == "WATERLOGGING_DEPTH"), start=1):
        town = town_of[d["area_code"]]
        watched = [f"RAINFALL_1H@{town}"] + ([f"RIVER_LEVEL@{rivers[town]}"] if town in rivers else [])
        out.append({"code": f"YL-{i:03d}", "name": f"{names[town]}{d['name'].removesuffix('易涝点积水深度')}易涝点",
                    "kind": "waterlogging", "grade": GRADES[i % len(GRADES)], "area_code": d["area_code"],
                    "lon": d["lon"], "lat": d["lat"], "responsible_unit_code": f"C{town}",
                    "responsible_person": "", "responsible_phone": "", "patrol_frequency": "1d",
                    "devices": d["code"], "series": ";".join(watched), "description": "汛期重点巡查"})
    return out


# --- deterministic noise -------------------------------------------------------------------------------


def _mix(x: int) -> int:
    """splitmix64: a fast, well-spread hash (the same on every platform)."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def _uniform(*keys: int) -> float:
    h = 0
    for k in keys:
        h = _mix(h ^ (k & 0xFFFFFFFFFFFFFFFF))
    return (h >> 11) / float(1 << 53)


def _normal(*keys: int) -> float:
    # Irwin–Hall with three uniforms: bell-shaped, bounded, cheap
    return (_uniform(*keys, 1) + _uniform(*keys, 2) + _uniform(*keys, 3) - 1.5) * 2.0


# --- the simulator --------------------------------------------------------------------------------------


@dataclass
class Simulator:
    seed: int
    storms: list[Storm]
    faults: list[Fault] = field(default_factory=list)
    origin: datetime = datetime(2025, 1, 1, tzinfo=UTC)
    n_towns: int = 27

    def rain(self, t: datetime, town: int) -> float:
        """Rain intensity in mm/h at a town (-1 = the district average)."""
        total = 0.0
        for s in self.storms:
            x = (t - s.start).total_seconds() / 3600.0 / s.hours
            if 0.0 < x < 1.0:
                factor = 1.0 if town < 0 else 0.55 + 0.9 * _uniform(self.seed, 77, town, int(s.start.timestamp()))
                total += s.peak_mm_h * factor * math.sin(math.pi * x) ** 1.5
        if total and town >= 0:
            total *= 0.85 + 0.3 * _uniform(self.seed, town, int(t.timestamp()) // 600)
        return total

    def rain24(self, t: datetime, town: int) -> float:
        return sum(self.rain(t - timedelta(hours=h), town) for h in range(24))

    def river(self, t: datetime, town: int) -> float:
        """Rise of a river (in metres, before the gauge's own gain): the district's rain over the past
        36 hours through a unit-hydrograph-like kernel peaking about four hours after the rain."""
        rise = 0.0
        for h in range(0, 37):
            r = self.rain(t - timedelta(hours=h), -1)
            if r:
                rise += r * (h / 4.0) * math.exp(1 - h / 4.0)
        return rise * 0.02 * (0.8 + 0.4 * _uniform(self.seed, 91, town))

    def value(self, s: Series, t: datetime) -> float | None:
        """The series' value at ``t``; None while its device is silent (a gap)."""
        for f in self.faults:
            if f.series == s.device and f.start <= t < f.end:
                if f.kind == "gap":
                    return None
                t = f.start  # stuck: the value it had when it stuck
        return self._raw(s, t)

    def _raw(self, s: Series, t: datetime) -> float:
        p = s.params
        ts = int(t.timestamp())
        noise = _normal(self.seed, s.salt, ts // 60)
        local_hour = ((ts + 8 * 3600) % 86400) / 3600.0
        rain = self.rain(t, s.town)

        def daily(peak: float) -> float:
            return math.cos(2 * math.pi * (local_hour - peak) / 24.0)

        prof = s.profile
        if prof == "flat":
            v = p[0] + p[1] * noise
        elif prof == "diurnal":
            v = p[0] + p[1] * daily(p[3]) + p[2] * noise
        elif prof == "trend":
            days = (t - self.origin).total_seconds() / 86400.0
            v = min(p[3], p[0] + p[1] * days + p[2] * noise)
        elif prof == "count":
            rate = max(0.0, p[0] + p[1] * daily(p[2]) + p[3] * rain / 10.0)
            v = max(0.0, rate + math.sqrt(rate) * noise * 1.2)
            if rate < 1.0:  # rare events: present or not
                v = 1.0 if _uniform(self.seed, s.salt, ts // 60, 5) < rate else 0.0
        elif prof == "pct":
            v = min(100.0, max(0.0, p[0] + p[1] * daily(p[2]) + 1.0 * noise))
        elif prof == "storm":
            v = max(0.0, p[0] + p[1] * rain + p[2] * noise)
        elif prof == "rain":
            v = rain
        elif prof == "rain24":
            v = self.rain24(t, s.town)
        elif prof == "rain_point":
            v = rain * 0.25  # a 15-minute gauge
        elif prof == "river":
            gain = p[1] if len(p) > 1 else 1.0
            v = p[0] + gain * self.river(t, s.town) + 0.02 * noise * max(gain, 0.05)
        elif prof == "prob":
            v = 1.0 if _uniform(self.seed, s.salt, ts // 60, 9) < p[0] + p[1] * rain / 10.0 else 0.0
        elif prof == "landslide":
            days = (t - self.origin).total_seconds() / 86400.0
            v = p[0] + 0.01 * days + 0.015 * self.rain24(t, s.town) + 0.05 * noise
        elif prof == "sawtooth":
            period = p[2] * 3600
            phase = ((ts + s.salt * 9973) % period) / period
            v = min(100.0, p[0] + (p[1] - p[0]) * phase + 2 * noise)
        elif prof == "workday":
            weekday = datetime.fromtimestamp(ts + 8 * 3600, UTC).weekday()
            open_hours = 9 <= local_hour < 17.5 and weekday < 5
            v = max(0.0, p[0] + p[1] * daily(p[2]) + math.sqrt(p[0]) * noise) if open_hours else 0.0
        else:
            raise ValueError(f"unknown simulation profile {prof}")
        if s.value_type == "integer":
            return float(max(0, round(v)))
        if s.value_type == "boolean":
            return 1.0 if v >= 0.5 else 0.0
        return round(v, 3)

    def readings(self, series: list[Series], start: datetime, end: datetime,
                 min_step: int = 0) -> Iterator[dict[str, Any]]:
        """Readings of every series on its own grid of times in ``[start, end)`` (steps aligned to the
        epoch), at least ``min_step`` seconds apart — in time order."""
        s0, s1 = int(start.timestamp()), int(end.timestamp())
        plans = []
        for s in series:
            step = max(s.step_s, min_step)
            first = -(-s0 // step) * step
            plans.append((s, step, first))
        finest = math.gcd(*{p[1] for p in plans}) if plans else 60
        t = -(-s0 // finest) * finest
        while t < s1:
            at = datetime.fromtimestamp(t, UTC)
            for s, step, first in plans:
                if t >= first and (t - first) % step == 0:
                    v = self.value(s, at)
                    if v is None:
                        continue
                    item: dict[str, Any] = {"indicator": s.indicator, "at": at.isoformat(), "value": v}
                    if s.device:
                        item["device"] = s.device
                    else:
                        item["area"] = s.area
                    yield item
            t += finest


# Indicators replayed at their own frequency (at least every 10 minutes) — the storm's story; the
# rest of the history every two hours, which is what a chart of last week shows anyway.
STORY = {"RAINFALL_1H", "RIVER_LEVEL", "WATERLOGGING_DEPTH", "MANHOLE_TILT", "MANHOLE_OPEN", "DRAIN_PIPE_LEVEL"}


def make_simulator(plan: SensingPlan, seed: int, history_start: datetime, now: datetime,
                   live_storm_in: timedelta = timedelta(minutes=10)) -> Simulator:
    """Storms and faults for this demo: one storm two days before ``now``, one starting soon after
    ``now`` (for the live demo), stuck and silent devices in the history and live."""
    origin = history_start
    hist_storm = Storm(start=(now - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
                       - timedelta(hours=6), hours=10.0, peak_mm_h=28.0)
    live_storm = Storm(start=now + live_storm_in, hours=8.0, peak_mm_h=32.0)
    storms = [s for s in (hist_storm,) if s.start >= history_start] + [live_storm]
    devices = sorted({s.device for s in plan.series if s.device})
    pick = [devices[int(_uniform(seed, 13, i) * len(devices))] for i in range(6)]
    faults = [
        Fault(pick[0], "stuck", now - timedelta(days=1, hours=6), now - timedelta(days=1)),
        Fault(pick[1], "stuck", now - timedelta(hours=30), now - timedelta(hours=20)),
        Fault(pick[2], "gap", now - timedelta(hours=40), now - timedelta(hours=35)),
        Fault(pick[3], "gap", now - timedelta(hours=12), now - timedelta(hours=9)),
        # live: a gauge goes silent during the coming storm, a pressure sensor sticks
        Fault("RIVER_LEVEL-008", "gap", now + timedelta(hours=2), now + timedelta(hours=3)),
        Fault("WATER_MAIN_PRESSURE-003", "stuck", now + timedelta(hours=1), now + timedelta(hours=4)),
        # silent for good (collection governance's stale series and no-data warnings to their owners)
        Fault("GAS_PRESSURE-002", "gap", now - timedelta(hours=5), now + timedelta(days=3650)),
        Fault("BRIDGE_STRAIN-001", "gap", now - timedelta(hours=3), now + timedelta(days=3650)),
    ]
    return Simulator(seed, storms, faults, origin=origin, n_towns=len(plan.towns))


def _check(report: ImportReport, what: str) -> None:
    if report.errors:
        first = "; ".join(f"row {e.row} {e.column}: {e.message}" for e in report.errors[:5])
        raise RuntimeError(f"demo {what} did not import ({len(report.errors)} errors): {first}")


def _numbered(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{**r, ROW: str(i)} for i, r in enumerate(rows, start=2)]


@dataclass
class SensingDemo:
    plan: SensingPlan
    sim: Simulator
    actor: Actor
    stored: int = 0
    rejected: int = 0
    last_tick: datetime | None = None


def seed_sensing(uow: Callable[[], UnitOfWork], factory: sessionmaker[Session], district: DemoDistrict,
                 history_start: datetime, now: datetime, seed: int) -> SensingDemo:
    """Import the tree and devices (as the administrator), then replay the sensor history up to ``now``
    through the ingest service (as the integrator account, like a connected platform)."""
    plan = build_plan(district)
    with factory() as s:
        admin, integrator = resolve_actor(s, "admin"), resolve_actor(s, "integrator")
    _check(import_indicators(uow(), _numbered(plan.indicator_rows), admin), "indicators")
    _check(import_devices(uow(), _numbered(plan.device_rows), admin), "devices")
    _check(import_risk_points(uow(), _numbered(plan.risk_point_rows), admin), "risk points")
    sim = make_simulator(plan, seed, history_start, now)
    demo = SensingDemo(plan, sim, integrator)
    start = max(history_start, now - timedelta(days=MAX_HISTORY_DAYS))
    story = [s for s in plan.series if s.indicator in STORY]
    rest = [s for s in plan.series if s.indicator not in STORY]
    for series, min_step in ((story, 600), (rest, 7200)):
        batch: list[dict[str, Any]] = []
        for item in sim.readings(series, start, now, min_step):
            batch.append(item)
            if len(batch) >= BATCH:
                _feed(demo, uow, batch, _arrived(batch, now))
                batch = []
        _feed(demo, uow, batch, _arrived(batch, now))
    # the last hour at each series' own frequency, so that the sensors are fresh when the demo opens:
    # only the ones that went silent are stale (and warned of) — not every series replayed two-hourly
    recent = list(sim.readings(plan.series, max(start, now - timedelta(hours=1)), now, 60))
    for i in range(0, len(recent), BATCH):
        _feed(demo, uow, recent[i:i + BATCH], _arrived(recent[i:i + BATCH], now))
    demo.last_tick = now
    return demo


def _arrived(batch: list[dict[str, Any]], now: datetime) -> datetime:
    """When a replayed batch "arrives": a minute after its newest reading (the history is told as it
    happened, so collection governance does not count a week of it as late)."""
    if not batch:
        return now
    return min(now, datetime.fromisoformat(str(batch[-1]["at"])) + timedelta(minutes=1))


def _feed(demo: SensingDemo, uow: Callable[[], UnitOfWork], batch: list[dict[str, Any]],
          now: datetime | None = None) -> None:
    if not batch:
        return
    result = ingest(uow(), demo.actor, batch, now=now)
    demo.stored += result.accepted
    demo.rejected += result.rejected
    if result.rejected:
        raise RuntimeError(f"demo readings rejected: {result.rejections[:3]}")


def live_tick(demo: SensingDemo, uow: Callable[[], UnitOfWork], now: datetime) -> int:
    """Readings due since the last tick, each series at its own frequency (at least once a minute)."""
    start = (demo.last_tick or now - timedelta(minutes=1)) + timedelta(seconds=1)
    batch = list(demo.sim.readings(demo.plan.series, start, now + timedelta(seconds=1), 60))
    before = demo.stored
    _feed(demo, uow, batch, now)
    demo.last_tick = now  # only once stored: a failed tick's readings come with the next one
    return demo.stored - before


def start_live(factory: sessionmaker[Session], district: DemoDistrict, seed: int, stop: threading.Event,
               interval: float = 30.0, now: datetime | None = None) -> threading.Thread:
    """Start the live sensors in a thread: every ``interval`` seconds the readings due since the last
    tick go through ingest; a storm starts ten minutes after the start (see :func:`make_simulator`)."""
    now = now or datetime.now(UTC)
    plan = build_plan(district)
    with factory() as s:
        integrator = resolve_actor(s, "integrator")
    demo = SensingDemo(plan, make_simulator(plan, seed, now - timedelta(days=1), now), integrator, last_tick=now)
    thread = threading.Thread(target=live_loop, args=(demo, lambda: UnitOfWork(factory), stop, interval),
                              name="demo-sensing", daemon=True)
    thread.start()
    return thread


def live_loop(demo: SensingDemo, uow: Callable[[], UnitOfWork], stop: threading.Event,
              interval: float = 30.0) -> None:
    """Keep the sensors reporting until ``stop`` is set; a failed tick is retried on the next one."""
    while not stop.wait(interval):
        try:
            live_tick(demo, uow, datetime.now(UTC))
        except Exception as exc:  # the demo keeps running; the readings of this tick come again next tick
            print(f"sensing tick failed: {exc}")
