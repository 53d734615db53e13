"""How the MQTT subscriber gathers a batch: flushed ``batch_wait`` after its first message arrived, so a
reading that queued up while the previous batch was being stored does not wait a second interval
(issue #16, reading → warning → event). No broker: the queue is filled by hand."""

from __future__ import annotations

import threading
import time

from shuzhi.adapters.mqtt import Subscriber, _Message


def _sub(batch_size: int = 5000, batch_wait: float = 0.2) -> Subscriber:
    return Subscriber(lambda items: None, client_id="test-batching", batch_size=batch_size, batch_wait=batch_wait)


def _message(arrived: float, readings: int = 10) -> _Message:
    return _Message(1, 1, 1, [{"value": 1.0}] * readings, arrived)


def test_messages_that_waited_during_the_previous_batch_go_at_once() -> None:
    sub = _sub()
    old = time.monotonic() - 0.3  # queued while the batch before was stored, longer than batch_wait
    for _ in range(3):
        sub.messages.put(_message(old))
    started = time.monotonic()
    batch = sub._collect(threading.Event())
    assert len(batch) == 3
    assert time.monotonic() - started < 0.1  # not another batch_wait on top


def test_a_batch_waits_batch_wait_after_its_first_message_for_more() -> None:
    sub = _sub(batch_wait=0.6)
    stop = threading.Event()
    started = time.monotonic()
    sub.messages.put(_message(started - 0.4))  # came 0.4 s ago: 0.2 s left to gather
    threading.Timer(0.05, lambda: sub.messages.put(_message(time.monotonic()))).start()
    batch = sub._collect(stop)
    took = time.monotonic() - started
    assert len(batch) == 2
    assert 0.19 < took < 0.5  # gathering began 0.2 s before the deadline, not a whole batch_wait (0.6 s)


def test_a_full_batch_goes_without_waiting_and_leaves_the_rest_queued() -> None:
    sub = _sub(batch_size=25)
    now = time.monotonic()
    for _ in range(5):
        sub.messages.put(_message(now, readings=10))
    started = time.monotonic()
    batch = sub._collect(threading.Event())
    assert sum(len(m.items) for m in batch) == 30 and len(batch) == 3
    assert time.monotonic() - started < 0.1
    assert sub.messages.qsize() == 2


def test_with_nothing_queued_an_empty_batch_comes_back_after_batch_wait() -> None:
    sub = _sub(batch_wait=0.1)
    started = time.monotonic()
    assert sub._collect(threading.Event()) == []
    assert 0.09 < time.monotonic() - started < 0.5
