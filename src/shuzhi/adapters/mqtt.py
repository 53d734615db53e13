"""MQTT in: the topic and payload scheme of readings, and a subscriber that batches them into ingest.

Topics (see docs/sensing.md):

- ``shuzhi/readings/{indicator_code}/{series}`` — one series; ``series`` is a device code, or else an
  area code. Payload: ``{"value": 3.2, "at": "2024-06-13T10:00:00+08:00"}``, an array of such objects,
  or a bare number. ``at`` may be left out (or be Unix seconds); a reading without one is timed when
  the subscriber receives it.
- ``shuzhi/readings`` — a gateway's batch, the HTTP body: ``[{"indicator", "device"|"area", "at", "value"}, …]``.

Delivery is at least once and nothing is lost on a crash: the subscriber uses QoS 1, a fixed client
id and ``clean_session=False`` (the broker keeps the subscription and queues messages while it is
away), and acknowledges a message (manual PUBACK) only after the batch holding it is committed. A
message delivered twice is harmless: readings are idempotent by (indicator, series, time). A reading
without its own time is timed on arrival, so its message carries a ``receipt`` (the SHA-256 of topic
and payload, and whether the broker marked it a redelivery): ingest gives a redelivered message the
time its first delivery got (:mod:`shuzhi.services.sensing.ingest`), so it is stored once.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from shuzhi.domain.readings import Receipt

log = logging.getLogger("shuzhi.mqtt")

PREFIX = "shuzhi/readings"


def subscription(prefix: str, group: str = "") -> str:
    """The topic filter the subscriber subscribes to: ``prefix/#``, or with a group the shared
    subscription ``$share/{group}/prefix/#`` (a group name may not contain ``/``, ``+`` or ``#``)."""
    if not group:
        return prefix + "/#"
    if any(ch in group for ch in "/+#") or group.startswith("$"):
        raise ValueError(f"'{group}' is not a shared-subscription group name (no /, +, # or leading $)")
    return f"$share/{group}/{prefix}/#"


def receipt_digest(topic: str, payload: bytes) -> str:
    """What identifies a message across redeliveries: the broker resends topic and payload unchanged
    (the packet id is reused for other messages, so it identifies nothing)."""
    return hashlib.sha256(topic.encode() + b"\0" + payload).hexdigest()


def readings_of(topic: str, payload: bytes, received_at: datetime, prefix: str = PREFIX, *,
                redelivered: bool = False) -> list[Any]:
    """The readings one message carries, as ingest items; a part that cannot be read becomes a string
    (the reason), so that ingest counts it as rejected instead of it vanishing. ``prefix`` lets a
    site (or a test) put the scheme under its own root, e.g. ``site-a/shuzhi/readings``.

    A reading without ``at`` is timed ``received_at`` and carries the message's ``receipt``
    (``redelivered``: the broker's DUP flag), so that a redelivery keeps the first delivery's time."""
    if topic == prefix or topic.startswith(prefix + "/"):
        rest = topic[len(prefix):]
    else:
        return [f"topic {topic} is not under {prefix}"]
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return [f"payload on {topic} is not JSON: {exc}"]
    if not rest:
        if isinstance(data, dict) and isinstance(data.get("readings"), list):
            data = data["readings"]
        return data if isinstance(data, list) else [f"a batch on {prefix} is a JSON array of readings"]
    parts = rest.split("/")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        return [f"topic {topic} is not {prefix}/{{indicator_code}}/{{series}}"]
    indicator, series = parts[1], parts[2]
    items = data if isinstance(data, list) else [data]
    out: list[Any] = []
    receipt: Receipt | None = None
    for item in items:
        if isinstance(item, int | float) and not isinstance(item, bool):
            item = {"value": item}
        if not isinstance(item, dict):
            out.append(f"payload item on {topic} is not an object or a number")
            continue
        if item.get("at") is not None:
            out.append({"indicator": indicator, "series": series, "value": item.get("value"), "at": item["at"]})
            continue
        if receipt is None:
            receipt = Receipt(receipt_digest(topic, payload), redelivered)
        out.append({"indicator": indicator, "series": series, "value": item.get("value"),
                    "at": received_at.isoformat(), "receipt": receipt})
    return out


@dataclass
class _Message:
    generation: int
    mid: int
    qos: int
    items: list[Any]
    #: When it arrived (``time.monotonic()``): a batch is flushed ``batch_wait`` after its first message came.
    arrived: float = 0.0


BatchHandler = Callable[[list[Any]], Any]


class Subscriber:
    """Receives readings from the broker and hands them to ``handle`` in batches.

    ``handle(items)`` stores one batch (it is :func:`shuzhi.services.sensing.ingest.ingest` bound to a unit of
    work and an actor); when it raises (the database is away) the batch is kept and retried with
    backoff, unacknowledged, so the broker still holds it if the process dies meanwhile.
    """

    def __init__(self, handle: BatchHandler, *, host: str = "localhost", port: int = 1883,
                 client_id: str = "shuzhi-ingest", prefix: str = PREFIX, batch_size: int = 5000,
                 batch_wait: float = 0.2, receive_maximum: int = 5000,
                 session_expiry_s: int = 7 * 86400, username: str = "", password: str = "",
                 tls: bool = False, ca_file: str = "", cert_file: str = "", key_file: str = "",
                 group: str = "", leave: bool = False, leave_idle: float = 3.0) -> None:
        self.handle = handle
        #: Leaving the group for good: take no new share (unsubscribe), store what the session still
        #: holds, and once nothing has come for ``leave_idle`` seconds end the session.
        self.leave, self.leave_idle = leave, leave_idle
        self.last_message = time.monotonic()
        self.host, self.port, self.prefix, self.group = host, port, prefix, group
        self.topic = subscription(prefix, group)
        self.batch_size, self.batch_wait = batch_size, batch_wait
        self.generation = 0
        self.connected = threading.Event()
        self.messages: queue.Queue[_Message] = queue.Queue()
        self.received = self.stored_batches = self.failed_batches = 0
        #: Why the broker refused the last connection (bad user name or password, not authorised …).
        self.refused: str | None = None
        # MQTT 5: the session survives disconnects (Session Expiry) like clean_session=False in 3.1.1,
        # and Receive Maximum lets the broker keep more than a handful of unacknowledged messages in
        # flight, which manual acknowledgement needs to batch.
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                                  manual_ack=True)
        self._connect_props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        self._connect_props.SessionExpiryInterval = session_expiry_s
        self._connect_props.ReceiveMaximum = receive_maximum
        if username:
            self.client.username_pw_set(username, password or None)
        if tls:
            # certificate and host name checked against ca_file (or the system's CAs)
            self.client.tls_set(ca_certs=ca_file or None, certfile=cert_file or None, keyfile=key_file or None)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    # --- paho callbacks (network thread) ---

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT connect refused: %s", reason)
            self.refused = str(reason)
            return
        self.generation += 1
        self.last_message = time.monotonic()
        if self.leave:
            # the session's queued messages still come; the broker deals this member no new ones
            client.unsubscribe(self.topic)
            self.connected.set()
            log.info("MQTT connected to %s:%s, leaving %s", self.host, self.port, self.topic)
            return
        if self.group:
            # a session that once subscribed without the group would get every message a second time
            client.unsubscribe(subscription(self.prefix))
        client.subscribe(self.topic, qos=1)
        self.connected.set()
        log.info("MQTT connected to %s:%s, subscribing to %s", self.host, self.port, self.topic)

    def _on_subscribe(self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: list[Any],
                      _props: Any) -> None:
        # Said on the broker's SUBACK, not when SUBSCRIBE is sent: only from then on does a shared
        # subscription deal this member messages (an operator, and the tests, wait for this line).
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            log.error("MQTT subscription to %s refused: %s", self.topic, ", ".join(refused))
        else:
            log.info("MQTT subscribed to %s", self.topic)

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        self.connected.clear()
        if reason.is_failure:
            log.warning("MQTT connection lost (%s); reconnecting with backoff", reason)
        else:
            log.info("MQTT disconnected")

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        items = readings_of(msg.topic, bytes(msg.payload), datetime.now(UTC), self.prefix,
                            redelivered=bool(msg.dup))
        now = time.monotonic()
        self.messages.put(_Message(self.generation, msg.mid, msg.qos, items, now))
        self.last_message = now

    # --- the batching loop (caller's thread) ---

    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=30, clean_start=False,
                                  properties=self._connect_props)
        self.client.loop_start()

    def run(self, stop: threading.Event) -> None:
        """Batch and store until ``stop`` is set; then store what was received, acknowledge, disconnect."""
        self.start()
        try:
            pending: list[_Message] = []
            backoff = 0.5
            while True:
                stopping = stop.is_set()
                if not pending:
                    pending = self._collect(stop)
                if pending:
                    try:
                        self._store(pending)
                        pending = []
                        backoff = 0.5
                    except Exception:  # the database is away: keep the batch, unacknowledged, and retry
                        self.failed_batches += 1
                        log.exception("storing a batch of %d messages failed; retrying in %.1f s",
                                      len(pending), backoff)
                        if stop.wait(backoff):
                            break
                        backoff = min(backoff * 2, 30.0)
                        continue
                if stopping and self.messages.empty():
                    break
                if (self.leave and not pending and self.connected.is_set() and self.messages.empty()
                        and time.monotonic() - self.last_message > self.leave_idle):
                    log.info("MQTT session drained; ending it")
                    break
        finally:
            props = None
            if self.leave:
                props = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
                props.SessionExpiryInterval = 0  # the broker forgets the session: no share queues for it
            self.client.disconnect(properties=props)
            self.client.loop_stop()

    def _collect(self, stop: threading.Event) -> list[_Message]:
        """The next batch: at most ``batch_size`` readings, flushed ``batch_wait`` after its *first message
        arrived* — not after gathering began. Messages that queued up while the previous batch was being
        stored have waited already: once the first of them is ``batch_wait`` old, what is queued is taken
        without waiting and the batch goes at once, so a reading waits for at most one gathering interval
        (plus the batch ahead of it), however busy the stream. With nothing queued it returns an empty
        batch after ``batch_wait`` (so the caller can look at ``stop``)."""
        out: list[_Message] = []
        readings = 0
        deadline = time.monotonic() + self.batch_wait
        get = self.messages.get
        while readings < self.batch_size:
            timeout = deadline - time.monotonic()
            try:
                msg = self.messages.get_nowait() if timeout <= 0 else get(timeout=min(timeout, 0.05))
            except queue.Empty:
                if timeout <= 0 or stop.is_set():
                    break
                continue
            if not out:
                deadline = msg.arrived + self.batch_wait
            out.append(msg)
            readings += len(msg.items)
        return out

    def _store(self, batch: list[_Message]) -> None:
        items: list[Any] = []
        for m in batch:
            items.extend(m.items)
        self.handle(items)
        self.received += len(batch)
        self.stored_batches += 1
        generation = self.generation
        for m in batch:
            # A message from an earlier connection is redelivered by the broker on this one; its old
            # packet id may now name another message, so it must not be acknowledged here.
            if m.qos > 0 and m.generation == generation:
                self.client.ack(m.mid, m.qos)
