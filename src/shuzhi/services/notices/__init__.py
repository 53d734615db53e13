"""Notices that reach people (issue #19): SMS through Kannel, WeCom/DingTalk group robots, the inbox.

- :mod:`.escalation` — chains: who is told, by which channels, after how long; acknowledgement;
- :mod:`.sender` — the durable outbox worked through: hand-over to the gateways, DLRs, replies;
- :mod:`.queries` — per event and per person, settings, robots, policies;
- :mod:`.hooks` — where chains start (a red warning, a plan's activation) and the worker's jobs.
"""
