"""A private Kannel on free localhost ports: ``bearerbox`` + ``smsbox`` + ``fakesmsc`` as the carrier.

Tests, the demo and the benchmark start one to send real SMS traffic through the real gateway. The
carrier is Kannel's own fake SMSC: ``fakesmsc`` connects to the ``carrier`` port and prints every
message it receives (``Got message N: <from to data …>``); a second ``fakesmsc`` on the ``mo`` port
plays a phone replying. Numbers starting with ``dead_prefix`` are refused by the carrier (a number
out of service), so Kannel reports them undelivered (DLR 16).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from shuzhi.adapters.kannel import KannelConfig, render_config, wait_for_port

BEARERBOX = shutil.which("bearerbox") or "/usr/sbin/bearerbox"
SMSBOX = shutil.which("smsbox") or "/usr/sbin/smsbox"
FAKESMSC = shutil.which("fakesmsc") or "/usr/lib/kannel/test/fakesmsc"
_GOT = re.compile(r"Got message \d+: <(\S+) (\S+) (text|data|ucs-2|udh \S+) ?(.*)>$")


def _decode(body: str, kind: str) -> str:
    # fakesmsc URL-encodes the bytes, spaces as '+'
    raw = urllib.parse.unquote_to_bytes(body.replace("+", "%20"))
    return raw.decode("utf-16-be", "replace") if kind in ("ucs-2", "data") and len(raw) % 2 == 0 \
        else raw.decode("utf-8", "replace")


def available() -> bool:
    return all(os.access(p, os.X_OK) for p in (BEARERBOX, SMSBOX, FAKESMSC))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class CarrierMessage:
    """A message the simulated carrier received for a phone."""

    sender: str
    receiver: str
    text: str


@dataclass
class LocalKannel:
    run_dir: Path
    mo_url: str
    callback_base: str
    username: str = "shuzhi"
    password: str = field(default_factory=lambda: secrets.token_hex(8))
    sender: str = "10690001"
    mo_key: str = field(default_factory=lambda: secrets.token_hex(12))
    callback_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    dead_prefix: str = "1340000"
    ports: dict[str, int] = field(default_factory=dict)
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def config(self) -> KannelConfig:
        return KannelConfig(sendsms_url=f"http://127.0.0.1:{self.ports['sendsms']}/cgi-bin/sendsms",
                            username=self.username, password=self.password, sender=self.sender,
                            callback_base=self.callback_base, callback_secret=self.callback_secret)

    @property
    def conf_file(self) -> Path:
        return self.run_dir / "kannel.conf"

    def start(self) -> LocalKannel:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "spool").mkdir(exist_ok=True)
        for name in ("admin", "smsbox", "sendsms", "carrier", "mo"):
            self.ports.setdefault(name, free_port())
        self.conf_file.write_text(render_config(
            run_dir=self.run_dir, admin_port=self.ports["admin"], smsbox_port=self.ports["smsbox"],
            sendsms_port=self.ports["sendsms"], carrier_port=self.ports["carrier"], mo_port=self.ports["mo"],
            username=self.username, password=self.password, sender=self.sender, mo_url=self.mo_url,
            mo_key=self.mo_key, dead_prefix=self.dead_prefix), encoding="utf-8")
        self.start_gateway()
        self.start_carrier()
        return self

    def _spawn(self, name: str, args: list[str]) -> None:
        out = open(self.run_dir / f"{name}.out", "ab")  # noqa: SIM115 (the child keeps it)
        self._procs[name] = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=self.run_dir,
                                             start_new_session=True)

    def start_gateway(self) -> None:
        """bearerbox, then smsbox once bearerbox listens for it; returns when sendsms answers."""
        self._spawn("bearerbox", [BEARERBOX, "-v", "1", str(self.conf_file)])
        if not wait_for_port("127.0.0.1", self.ports["smsbox"], 15):
            raise RuntimeError(f"bearerbox did not start: see {self.run_dir / 'bearerbox.out'}")
        self._spawn("smsbox", [SMSBOX, "-v", "1", str(self.conf_file)])
        if not wait_for_port("127.0.0.1", self.ports["sendsms"], 15):
            raise RuntimeError(f"smsbox did not start: see {self.run_dir / 'smsbox.out'}")

    def start_carrier(self) -> None:
        """The carrier: a fakesmsc that sends nothing and prints what it receives."""
        wait_for_port("127.0.0.1", self.ports["carrier"], 10)
        self._spawn("carrier", [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.ports["carrier"]), "-m", "0",
                                "-v", "0", "1 1 text nop"])
        self.wait_carrier_connected()

    def wait_carrier_connected(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if "Fakesmsc client connected" in self._log("bearerbox.log"):
                return
            time.sleep(0.05)
        raise RuntimeError("the fake carrier did not connect to bearerbox")

    def _log(self, name: str) -> str:
        path = self.run_dir / name
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def _stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self._procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def stop_gateway(self, sig: int = signal.SIGTERM) -> None:
        self._stop("smsbox", sig)
        self._stop("bearerbox", sig)

    def restart_gateway(self) -> None:
        """Stop smsbox and bearerbox and start them again (the carrier reconnects by itself)."""
        self.stop_gateway()
        self._stop("carrier")
        self.start_gateway()
        self.start_carrier()

    def stop(self) -> None:
        for name in ("mo", "carrier", "smsbox", "bearerbox"):
            self._stop(name)

    def received(self, log: str = "carrier.out") -> list[CarrierMessage]:
        """Every message the carrier received, in order, concatenated parts joined (Chinese text arrives
        as UCS-2, i.e. UTF-16BE bytes); ``mo.out`` holds what was sent back to the replying phone."""
        out: list[CarrierMessage] = []
        parts: dict[tuple[str, int], dict[int, str]] = {}
        for line in self._log(log).splitlines():
            m = _GOT.search(line)
            if not m:
                continue
            sender, receiver, kind, body = m.groups()
            if kind.startswith("udh"):
                udh = urllib.parse.unquote_to_bytes(kind.split(" ", 1)[1])
                body = body.split(" ", 1)[1] if " " in body else ""
                text = _decode(body, "ucs-2")
                if len(udh) >= 6 and udh[1] == 0:  # concatenation: ref, total, sequence
                    ref, total, seq = udh[3], udh[4], udh[5]
                    got = parts.setdefault((receiver, ref), {})
                    got[seq] = text
                    if len(got) == total:
                        out.append(CarrierMessage(sender, receiver, "".join(got[i] for i in sorted(got))))
                        del parts[(receiver, ref)]
                    continue
            else:
                text = body if kind == "text" else _decode(body, kind)
            out.append(CarrierMessage(sender, receiver, text))
        return out

    def reply(self, phone: str, text: str) -> None:
        """A phone sends ``text`` to our sender id (an MO message through the ``mo`` fake SMSC)."""
        self._stop("mo")
        kind, body = ("text", text) if text.isascii() else ("data", urllib.parse.quote(text.encode("utf-8")))
        self._spawn("mo", [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.ports["mo"]), "-m", "1", "-v", "0",
                           f"{phone} {self.sender} {kind} {body}"])

    def __enter__(self) -> LocalKannel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
