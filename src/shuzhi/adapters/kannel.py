"""Kannel, the open-source SMS gateway operators run in front of carriers: its ``sendsms`` HTTP interface,
delivery reports (DLR) and replies from phones (MO).

**Sending** (smsbox ``/cgi-bin/sendsms``, a GET): ``username``, ``password``, ``from`` (the sender id),
``to``, ``text``, ``charset=UTF-8`` and ``coding=2`` (UCS-2: Chinese text, 70 characters in one part,
67 per part of a concatenated message), ``dlr-mask`` and ``dlr-url``. Kannel answers ``202`` with
``0: Accepted for delivery`` (or ``3: Queued for later delivery``); ``4xx``/``5xx`` refuse the message.

**Delivery reports**: Kannel calls ``dlr-url`` with ``%d`` replaced by the report type:
1 delivered to the phone, 2 not delivered to the phone, 4 queued on the SMSC, 8 delivered to the SMSC,
16 not delivered to the SMSC (the SMSC refused it, or Kannel gave up after ``sms-resend-retry``).
We ask for ``dlr-mask=31`` (all of them) and put our notice id and an HMAC of it in the URL, since
Kannel cannot sign its callbacks.

**Replies** (MO): an ``sms-service`` with ``keyword = default`` passes every incoming SMS to our
``get-url`` (``%p`` sender, ``%P`` receiver, ``%a`` text); the body we answer is sent back to the phone.

The configuration lives in ``deploy/kannel/kannel.conf.template``; :func:`render_config` fills it in.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

#: Report types Kannel puts in ``%d``.
DLR_DELIVERED = 1
DLR_UNDELIVERED = 2
DLR_QUEUED = 4
DLR_SMSC_ACCEPTED = 8
DLR_SMSC_REJECTED = 16
DLR_MASK_ALL = 31

TEMPLATE = Path(__file__).resolve().parents[3] / "deploy" / "kannel" / "kannel.conf.template"


@dataclass(frozen=True)
class KannelConfig:
    """Where the gateway is and who we are to it (settings ``SHUZHI_SMS_*``)."""

    sendsms_url: str  # http://127.0.0.1:13013/cgi-bin/sendsms
    username: str
    password: str
    sender: str  # the sender id (服务号码) the carrier assigned, e.g. 106900001234
    #: Base URL at which Kannel reaches our API (DLRs): http://127.0.0.1:8000
    callback_base: str
    #: Key of the HMAC that authenticates a DLR callback's notice id.
    callback_secret: str
    timeout_s: float = 5.0


@dataclass(frozen=True)
class SubmitResult:
    ok: bool
    status: int | None
    body: str
    #: True when the gateway refused this message for good (bad number, bad text): no retry helps.
    permanent: bool = False

    @property
    def error(self) -> str | None:
        if self.ok:
            return None
        return f"HTTP {self.status}: {self.body}" if self.status is not None else self.body


def dlr_token(secret: str, notice_id: int, attempt: int) -> str:
    """The HMAC that proves a DLR callback is about the notice and attempt we sent."""
    mac = hmac.new(secret.encode(), f"dlr:{notice_id}:{attempt}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def verify_dlr_token(secret: str, notice_id: int, attempt: int, token: str) -> bool:
    return hmac.compare_digest(dlr_token(secret, notice_id, attempt), token)


def dlr_url(config: KannelConfig, notice_id: int, attempt: int) -> str:
    """The callback Kannel calls for each report (its ``%`` escapes are kept for Kannel to fill in)."""
    token = dlr_token(config.callback_secret, notice_id, attempt)
    return (f"{config.callback_base.rstrip('/')}/api/notices/sms/dlr?notice={notice_id}&attempt={attempt}"
            f"&token={token}&type=%d&smsc=%i&reply=%A&at=%T")


def sendsms_query(config: KannelConfig, to: str, text: str, notice_id: int, attempt: int) -> str:
    return urllib.parse.urlencode({
        "username": config.username, "password": config.password, "from": config.sender, "to": to,
        "text": text, "charset": "UTF-8", "coding": "2", "dlr-mask": str(DLR_MASK_ALL),
        "dlr-url": dlr_url(config, notice_id, attempt),
    })


class KannelClient:
    """Submits messages over kept-alive HTTP connections, one per thread (the sender runs a few threads)."""

    def __init__(self, config: KannelConfig) -> None:
        self.config = config
        url = urllib.parse.urlsplit(config.sendsms_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"sendsms URL must be http(s)://host:port/path, not {config.sendsms_url!r}")
        self._scheme, self._host, self._port, self._path = url.scheme, url.hostname, url.port, url.path
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            conn = cls(self._host, self._port, timeout=self.config.timeout_s)
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def submit(self, to: str, text: str, notice_id: int, attempt: int) -> SubmitResult:
        """One ``sendsms`` request; a connection that went stale is reopened once."""
        target = f"{self._path}?{sendsms_query(self.config, to, text, notice_id, attempt)}"
        for retry in (0, 1):
            conn = self._connection()
            try:
                conn.request("GET", target)
                resp = conn.getresponse()
                body = resp.read().decode("utf-8", "replace").strip()
                status = resp.status
                if resp.getheader("connection", "").lower() == "close":
                    self._drop()
                break
            except (http.client.HTTPException, OSError) as exc:
                self._drop()
                if retry == 1 or isinstance(exc, ConnectionRefusedError):
                    return SubmitResult(False, None, f"{type(exc).__name__}: {exc}")
        ok = status in (200, 202) and body.split(":", 1)[0].strip() in ("0", "3")
        # 4xx: the request itself is wrong (credentials, number, text) — sending it again changes nothing
        return SubmitResult(ok, status, body[:300], permanent=not ok and 400 <= status < 500)


def render_config(*, run_dir: Path, admin_port: int, smsbox_port: int, sendsms_port: int, carrier_port: int,
                  mo_port: int, username: str, password: str, sender: str, mo_url: str, mo_key: str,
                  admin_password: str = "shuzhi-admin", dead_prefix: str = "1340000",
                  template: Path = TEMPLATE) -> str:
    """The gateway's configuration file for these ports and credentials."""
    text = template.read_text(encoding="utf-8")
    values = {"run_dir": str(run_dir), "admin_port": admin_port, "smsbox_port": smsbox_port,
              "sendsms_port": sendsms_port, "carrier_port": carrier_port, "mo_port": mo_port,
              "username": username, "password": password, "sender": sender, "mo_url": mo_url, "mo_key": mo_key,
              "admin_password": admin_password, "dead_prefix": dead_prefix}
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def wait_for_port(host: str, port: int, timeout_s: float = 10.0) -> bool:
    """Whether something listens on ``host:port`` within the timeout."""
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.05)
    return False
