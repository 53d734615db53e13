"""Group robots of the government and enterprise IM platforms: WeCom (企业微信) and DingTalk (钉钉).

Both take a JSON POST to a webhook the group's owner copies from the robot's settings, and answer
``{"errcode": 0, "errmsg": "ok"}`` (any other ``errcode`` is a refusal). Both allow 20 messages a
minute per robot.

**WeCom group robot** (群机器人配置说明): ``POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY``;
the ``key`` in the URL is the only credential. Text message::

    {"msgtype": "text", "text": {"content": "…", "mentioned_mobile_list": ["13800001111"]}}

``content`` at most 2048 bytes of UTF-8; ``mentioned_mobile_list`` @-mentions members by phone.

**DingTalk custom robot** (自定义机器人, security setting 加签): ``POST
https://oapi.dingtalk.com/robot/send?access_token=TOKEN&timestamp=T&sign=S`` where ``T`` is the time in
milliseconds and ``S = urlencode(base64(HmacSHA256(key=secret, message=f"{T}\\n{secret}")))``; the
platform refuses a timestamp more than an hour from its clock. Text message::

    {"msgtype": "text", "text": {"content": "…"}, "at": {"atMobiles": ["13800001111"], "isAtAll": false}}

:func:`verify_dingtalk` and :func:`check_wecom_body` / :func:`check_dingtalk_body` are what a
receiver does; the tests run a local receiver with them, since the platforms cannot be reached here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

WECOM = "wecom"
DINGTALK = "dingtalk"
KINDS = (WECOM, DINGTALK)
WECOM_TEXT_MAX_BYTES = 2048
DINGTALK_TOLERANCE_MS = 3600 * 1000


@dataclass(frozen=True)
class RobotResult:
    ok: bool
    status: int | None
    error: str | None
    #: The platform refused the message itself (bad key, bad body): sending it again changes nothing.
    permanent: bool = False


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query parameter: base64 of HmacSHA256(secret, "timestamp\\nsecret"), URL-encoded."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(mac).decode("ascii"))


def verify_dingtalk(secret: str, timestamp: str, sign: str, *, now_ms: int | None = None) -> bool:
    """What DingTalk checks: the signature of this timestamp, and a timestamp within an hour.

    ``sign`` is the value as it arrives after the query string was decoded once."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    if abs(now - ts) > DINGTALK_TOLERANCE_MS:
        return False
    expected = urllib.parse.unquote_plus(dingtalk_sign(secret, ts))
    return hmac.compare_digest(expected, sign)


def _fit_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "…"


def wecom_body(text: str, mobiles: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"msgtype": "text", "text": {"content": _fit_bytes(text, WECOM_TEXT_MAX_BYTES)}}
    if mobiles:
        body["text"]["mentioned_mobile_list"] = mobiles
    return body


def dingtalk_body(text: str, mobiles: list[str]) -> dict[str, Any]:
    # a mention only rings when the number also appears in the text, as DingTalk documents
    mentions = "".join(f" @{m}" for m in mobiles)
    return {"msgtype": "text", "text": {"content": text + mentions},
            "at": {"atMobiles": mobiles, "isAtAll": False}}


def signed_url(kind: str, webhook_url: str, secret: str | None, *, now_ms: int | None = None) -> str:
    """The URL to POST to: DingTalk's with ``timestamp`` and ``sign`` when the robot has a secret."""
    if kind != DINGTALK or not secret:
        return webhook_url
    ts = now_ms if now_ms is not None else int(time.time() * 1000)
    sep = "&" if "?" in webhook_url else "?"
    return f"{webhook_url}{sep}timestamp={ts}&sign={dingtalk_sign(secret, ts)}"


def send(kind: str, webhook_url: str, secret: str | None, text: str, mobiles: list[str], *,
         timeout: float = 5.0) -> RobotResult:
    """POST one text message to a group robot."""
    if kind not in KINDS:
        raise ValueError(f"unknown robot kind {kind!r}")
    body = wecom_body(text, mobiles) if kind == WECOM else dingtalk_body(text, mobiles)
    req = urllib.request.Request(signed_url(kind, webhook_url, secret), method="POST",
                                 data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return RobotResult(False, exc.code, f"HTTP {exc.code}", permanent=400 <= exc.code < 500 and exc.code != 429)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return RobotResult(False, None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")
    try:
        answer = json.loads(raw.decode("utf-8"))
        code = int(answer.get("errcode", -1))
    except (ValueError, AttributeError, TypeError):
        return RobotResult(False, status, f"not a robot answer: {raw[:100]!r}")
    if code == 0:
        return RobotResult(True, status, None)
    # 45009 / 130101: sent too often — the next attempt may pass; anything else is about the message
    transient = code in (45009, 130101, -1)
    return RobotResult(False, status, f"errcode {code}: {answer.get('errmsg', '')}"[:300], permanent=not transient)


def check_wecom_body(body: Any) -> str | None:
    """A receiver's check of a WeCom text message: ``None`` when it is as documented, else why not."""
    if not isinstance(body, dict) or body.get("msgtype") != "text" or not isinstance(body.get("text"), dict):
        return "msgtype must be 'text' with a 'text' object"
    content = body["text"].get("content")
    if not isinstance(content, str) or not content:
        return "text.content is required"
    if len(content.encode("utf-8")) > WECOM_TEXT_MAX_BYTES:
        return "text.content longer than 2048 bytes"
    extra = set(body["text"]) - {"content", "mentioned_list", "mentioned_mobile_list"}
    if extra:
        return f"unknown fields in text: {sorted(extra)}"
    mobiles = body["text"].get("mentioned_mobile_list", [])
    if not isinstance(mobiles, list) or not all(isinstance(m, str) for m in mobiles):
        return "mentioned_mobile_list must be a list of strings"
    return None


def check_dingtalk_body(body: Any) -> str | None:
    """A receiver's check of a DingTalk text message."""
    if not isinstance(body, dict) or body.get("msgtype") != "text" or not isinstance(body.get("text"), dict):
        return "msgtype must be 'text' with a 'text' object"
    if not isinstance(body["text"].get("content"), str) or not body["text"]["content"]:
        return "text.content is required"
    at = body.get("at", {})
    if not isinstance(at, dict) or not isinstance(at.get("atMobiles", []), list) \
            or not isinstance(at.get("isAtAll", False), bool):
        return "at must hold atMobiles (list) and isAtAll (bool)"
    return None
