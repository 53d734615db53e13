"""In the demo, the stored storm raises rainfall and river warnings that climb from blue to red, open
events that are dispatched, and resolve when the readings recover — all through the real services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Event, TimelineEntry
from shuzhi.adapters.db.tables_warnings import IndicatorWarning, WarningLevelChange
from shuzhi.demo.sensing import seed_sensing
from shuzhi.demo.warnings import seed_warnings
from shuzhi.services.sensing.ingest import forget_catalogues
from shuzhi.services.unit_of_work import UnitOfWork

NOW = datetime(2025, 6, 11, 4, 0, tzinfo=UTC)


def test_the_demo_storm_climbs_blue_to_red_opens_dispatched_events_and_resolves(demo_district: Any,
        session_factory: sessionmaker[Session]) -> None:
    forget_catalogues()
    district = demo_district

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    seed_warnings(uow, session_factory, district)
    seed_sensing(uow, session_factory, district, NOW - timedelta(days=2, hours=8), NOW, 1)
    with session_factory() as s:
        river = s.scalars(select(IndicatorWarning).where(IndicatorWarning.indicator_code == "RIVER_LEVEL")).all()
        rain = s.scalars(select(IndicatorWarning).where(IndicatorWarning.indicator_code == "RAINFALL_1H")).all()
        assert len({w.series_key for w in river}) == 8  # every gauge

        def climb(w: IndicatorWarning) -> list[str | None]:
            return [c.to_level for c in s.scalars(select(WarningLevelChange).where(
                WarningLevelChange.warning_id == w.id, WarningLevelChange.change.in_(("fired", "raised")))
                .order_by(WarningLevelChange.id))]

        assert {w.peak_level for w in river} == {"red"}
        assert all(climb(w)[:4] == ["blue", "yellow", "orange", "red"] for w in river)
        assert any(climb(w)[:4] == ["blue", "yellow", "orange", "red"] for w in rain)
        # the storm is over by NOW: every river warning has resolved
        assert {w.state for w in river} == {"resolved"}
        events = s.scalars(select(Event).where(Event.id.in_([w.event_id for w in river if w.event_id]))).all()
        assert len(events) == len([w for w in river if w.event_id]) >= 8
        assert {e.source for e in events} == {"sensor_warning"}
        assert {e.state for e in events} == {"dispatched"}  # dispatched, and never closed by the recovery
        assert {e.urgency for e in events} == {"critical"}
        notes = set(s.scalars(select(TimelineEntry.action).where(TimelineEntry.event_id == events[0].id)))
        assert {"warning.fired", "event.urgency_raise", "event.dispatch", "warning.resolved"} <= notes
    forget_catalogues()
