"""Which MQTT account may publish on which topic: a Mosquitto ACL file made from the device register.

The subscriber cannot tell who published a message (MQTT does not carry it), so the broker enforces
it: each device signs in with its own account, named by its device code, and may *write* only its own
topics ``{prefix}/{indicator}/{device}``; the ingest account may *read* the whole tree and write
nothing. A stolen gauge credential can then forge that gauge's readings, not the district's. Write
the file with ``shuzhi mqtt-acl PATH`` after each device import and reload Mosquitto (``acl_file``).
"""

from __future__ import annotations

from sqlalchemy import select

from shuzhi.adapters.db.tables_sensing import Device, Indicator
from shuzhi.domain import permissions as p
from shuzhi.services.actors import Actor
from shuzhi.services.errors import Invalid
from shuzhi.services.security import authz
from shuzhi.services.unit_of_work import UnitOfWork

_TOPIC_UNSAFE = set("+#/\n\r\x00 ")


def acl_text(uow: UnitOfWork, actor: Actor, *, prefix: str, subscriber: str) -> str:
    """The ACL: the subscriber reads ``{prefix}/#``; each active device writes only its own topics."""
    authz.require(actor, p.INDICATOR_WRITE)
    if not subscriber or _TOPIC_UNSAFE & set(subscriber):
        raise Invalid("the subscriber's account name must not be empty or hold spaces, '/', '+' or '#'",
                      field="subscriber")
    lines = ["# made by `shuzhi mqtt-acl` from the device register; do not edit by hand", "",
             f"user {subscriber}", f"topic read {prefix}/#", ""]
    with uow:
        rows = uow.session.execute(
            select(Device.code, Indicator.code).join(Indicator, Indicator.id == Device.indicator_id)
            .where(Device.active.is_(True)).order_by(Device.code)).all()
    for device, indicator in rows:
        if _TOPIC_UNSAFE & set(device) or _TOPIC_UNSAFE & set(indicator):
            continue  # such a code cannot be a topic level; it cannot publish by MQTT at all
        lines += [f"user {device}", f"topic write {prefix}/{indicator}/{device}", ""]
    return "\n".join(lines)
