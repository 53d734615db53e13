"""``shuzhi ingest-mqtt --processes N``: N ingest processes in one shared subscription, kept running.

Each member is the ordinary ``shuzhi ingest-mqtt`` with ``--group`` and a client id of its own,
``{client_id}-{n}`` (n = 1 … N), which it keeps across restarts: Mosquitto deals a shared subscription
round robin over the group's sessions, also to a member that is away (the messages wait in its
session), so a member that dies is started again under the same client id and gets what it had not
acknowledged and what was queued for it; the receipts and the readings' key make the second delivery
harmless. SIGTERM (or Ctrl-C) is passed to every member: each stores and acknowledges the batch in
hand and exits; then this process exits.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

log = logging.getLogger("shuzhi.mqtt")

#: The member command: the product's CLI in this interpreter, whatever the ``shuzhi`` script is called here.
MEMBER = [sys.executable, "-c", "from shuzhi.entrypoints.cli import app; app()", "ingest-mqtt"]


def member_ids(client_id: str, processes: int) -> list[str]:
    return [f"{client_id}-{n}" for n in range(1, processes + 1)]


def run_group(args: Sequence[str], client_id: str, processes: int, stop: threading.Event, *,
              restart_delay: float = 1.0, stop_timeout: float = 60.0) -> int:
    """Run ``processes`` members (``args``: the member's options but ``--client-id``) until ``stop``;
    a member that exits on its own is started again (after ``restart_delay``, doubling up to 30 s while
    it keeps dying within a minute). Returns 0 when every member stopped cleanly."""

    def spawn(cid: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([*MEMBER, *args, "--client-id", cid, "--processes", "1"])

    members = {cid: spawn(cid) for cid in member_ids(client_id, processes)}
    started = {cid: time.monotonic() for cid in members}
    delay = dict.fromkeys(members, restart_delay)
    log.info("ingest group: %d members %s", processes, ", ".join(members))
    while not stop.wait(0.5):
        for cid, proc in list(members.items()):
            code = proc.poll()
            if code is None:
                continue
            if time.monotonic() - started[cid] > 60:
                delay[cid] = restart_delay
            log.warning("ingest member %s exited with %s; starting it again in %.0f s (same client id: the "
                        "broker gives it back what it had not acknowledged)", cid, code, delay[cid])
            if stop.wait(delay[cid]):
                break
            delay[cid] = min(delay[cid] * 2, 30.0)
            members[cid] = spawn(cid)
            started[cid] = time.monotonic()
    for proc in members.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    clean = True
    deadline = time.monotonic() + stop_timeout
    for cid, proc in members.items():
        try:
            code = proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.error("ingest member %s did not stop within %.0f s; killed", cid, stop_timeout)
            proc.kill()
            code = proc.wait()
        clean = clean and code == 0
    return 0 if clean else 1
