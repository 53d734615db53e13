"""A warning and its escalation chain are acknowledged together.

A red (or orange) warning starts a chain whose subject is ``warning:<indicator>:<series>``
(``hooks.on_warning``). Whoever answers first ends both:

- the chain acknowledged from a reply, a link or the notices page writes the warning's own acknowledgement
  (确认) — the same person, and the channel in the note — so the warnings page does not still show it
  unanswered (:func:`mirror_onto_warning`, called by ``escalation.acknowledge``);
- the warning acknowledged on the warnings page ends its open chains (:func:`stop_chains_of_warning`), so
  nobody is woken for a warning a duty officer already has in hand.

Each side is written only when it is still unanswered (a conditional UPDATE), so neither calls the other
twice and two answers at the same moment leave one acknowledgement.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shuzhi.adapters.db.tables_notices import NoticeChain
from shuzhi.adapters.db.tables_warnings import IndicatorWarning, WarningLevelChange
from shuzhi.services.actors import Actor

#: The chain kinds a warning starts (``hooks.LEVEL_KINDS``).
WARNING_KINDS = ("warning.red", "warning.orange")


def warning_subject(indicator_code: str, series_key: str) -> str:
    return f"warning:{indicator_code}:{series_key}"


def _warning_of(s: Session, chain: NoticeChain) -> IndicatorWarning | None:
    """The warning a chain is about: the latest of its series that had started when the chain did."""
    if chain.kind not in WARNING_KINDS or not chain.subject.startswith("warning:"):
        return None
    _, indicator, series = chain.subject.split(":", 2)
    return s.scalars(select(IndicatorWarning).where(
        IndicatorWarning.indicator_code == indicator, IndicatorWarning.series_key == series,
        IndicatorWarning.started_at <= chain.started_at).order_by(IndicatorWarning.started_at.desc(),
                                                                  IndicatorWarning.id.desc()).limit(1)).first()


def mirror_onto_warning(s: Session, chain: NoticeChain, actor: Actor, at: datetime, note: str) -> bool:
    """Write the chain's acknowledgement on its warning, unless someone acknowledged the warning already."""
    w = _warning_of(s, chain)
    if w is None:
        return False
    done = s.execute(update(IndicatorWarning).where(IndicatorWarning.id == w.id,
                                                    IndicatorWarning.acknowledged_at.is_(None))
                     .values(acknowledged_at=at, acknowledged_by=actor.label, ack_note=note)
                     .execution_options(synchronize_session=False))
    if getattr(done, "rowcount", 0) != 1:
        return False
    s.add(WarningLevelChange(warning_id=w.id, at=at, change="acknowledged", from_level=w.level, to_level=w.level,
                             value=None, actor=actor.label, payload={"comment": note, "chain": chain.id}))
    return True


def stop_chains_of_warning(s: Session, warning: IndicatorWarning, actor: Actor, at: datetime) -> int:
    """The warning was acknowledged on its page: end its open chains (channel ``page``); returns how many."""
    from shuzhi.services.notices import escalation

    chains = s.scalars(select(NoticeChain).where(
        NoticeChain.subject == warning_subject(warning.indicator_code, warning.series_key),
        NoticeChain.kind.in_(WARNING_KINDS), NoticeChain.state == "open",
        NoticeChain.started_at >= warning.started_at)).all()
    return sum(escalation.acknowledge(s, c, channel="page", at=at, person_id=actor.person_id, who=actor.name,
                                      person_code=actor.code) for c in chains)
