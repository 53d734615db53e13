"""Notices (通知): per event and per person, acknowledgement, people's channels, robots, escalation
policies — and the SMS gateway's callbacks (delivery reports, replies), which Kannel calls without a
session: each carries its own credential (an HMAC per notice, the MO key)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, Field

from shuzhi.entrypoints.api.deps import ActorDep, Ref, UowDep
from shuzhi.services.errors import Invalid, NotFound
from shuzhi.services.notices import queries as notices
from shuzhi.services.notices import sender as notice_sender
from shuzhi.services.notices.queries import NoticeView

router = APIRouter(prefix="/api", tags=["notices"])
public_router = APIRouter(tags=["notices"])


class EventNoticesOut(BaseModel):
    event: str
    chains: list[dict[str, Any]]
    notices: list[NoticeView]


class SettingIn(BaseModel):
    channels: list[str] = Field(max_length=3, description="sms, im, inapp (the inbox always stays on)")
    quiet_start: str | None = Field(default=None, max_length=5, description="HH:MM local")
    quiet_end: str | None = Field(default=None, max_length=5)


class RobotIn(BaseModel):
    unit_code: str = Field(min_length=1, max_length=40)
    kind: str = Field(description="wecom or dingtalk")
    name: str = Field(min_length=1, max_length=100)
    webhook_url: str = Field(min_length=10, max_length=500)
    secret: str | None = Field(default=None, max_length=200, description="DingTalk 加签 secret (SEC…)")


class RobotPatch(BaseModel):
    enabled: bool | None = None
    name: str | None = Field(default=None, min_length=1, max_length=100)


class PolicyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: str
    steps: list[dict[str, Any]] = Field(min_length=1, max_length=10)
    enabled: bool = True
    expected_version: int | None = None


@router.get("/events/{ref}/notices", response_model=EventNoticesOut)
def event_notices(ref: Ref, uow: UowDep, actor: ActorDep) -> EventNoticesOut:
    """Every notice of an event: chains, sends, delivery reports and acknowledgements."""
    got = notices.event_notices(uow, actor, ref)
    return EventNoticesOut(event=got["event"], chains=got["chains"], notices=got["notices"])


@router.get("/notices/mine", response_model=list[NoticeView])
def my_notices(uow: UowDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=500)] = 100,
               before_id: int | None = None) -> list[NoticeView]:
    """The notices sent to me, newest first."""
    return notices.person_notices(uow, actor, None, limit=limit, before_id=before_id)


@router.get("/people/{person_code}/notices", response_model=list[NoticeView])
def person_notices(person_code: str, uow: UowDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                   before_id: int | None = None) -> list[NoticeView]:
    """A person's notices (in one's scope), newest first."""
    return notices.person_notices(uow, actor, person_code, limit=limit, before_id=before_id)


@router.get("/notice-chains/{chain_id}")
def chain(chain_id: int, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """One escalation chain with its notices."""
    got = notices.chain_detail(uow, actor, chain_id)
    got["notices"] = [asdict(n) for n in got["notices"]]
    return got


@router.post("/notice-chains/{chain_id}/ack")
def acknowledge(chain_id: int, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Acknowledge on the page: the chain stops and the event's timeline says who, how and when."""
    return notices.acknowledge_on_page(uow, actor, chain_id)


@router.get("/notices/settings/mine")
def my_setting(uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """My channels and quiet hours."""
    return notices.get_setting(uow, actor, None)


@router.put("/notices/settings/mine")
def put_my_setting(body: SettingIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Set my channels and quiet hours (urgent notices still come through at night)."""
    return notices.put_setting(uow, actor, None, body.channels, body.quiet_start, body.quiet_end)


@router.get("/notice-robots")
def list_robots(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """The units' WeCom and DingTalk group robots (keys not shown)."""
    return notices.list_robots(uow, actor)


@router.post("/notice-robots", status_code=201)
def add_robot(body: RobotIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Add a unit's group robot."""
    return notices.add_robot(uow, actor, **body.model_dump())


@router.patch("/notice-robots/{robot_id}")
def update_robot(robot_id: int, body: RobotPatch, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Disable or enable a group robot, or rename it."""
    return notices.update_robot(uow, actor, robot_id, enabled=body.enabled, name=body.name)


@router.delete("/notice-robots/{robot_id}", status_code=204)
def remove_robot(robot_id: int, uow: UowDep, actor: ActorDep) -> Response:
    """Remove a group robot (its key leaves the database)."""
    notices.remove_robot(uow, actor, robot_id)
    return Response(status_code=204)


@router.get("/escalation-policies")
def list_policies(uow: UowDep, _actor: ActorDep) -> list[dict[str, Any]]:
    """The escalation policies (steps: who, channels, after how many minutes)."""
    return notices.list_policies(uow, _actor)


@router.put("/escalation-policies/{code}")
def put_policy(code: Annotated[str, "policy code"], body: PolicyIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Create or replace a policy; steps are checked when saved."""
    if not code or len(code) > 40:
        raise Invalid("code must be 1–40 characters", field="code")
    return notices.put_policy(uow, actor, code, name=body.name, kind=body.kind, steps=body.steps,
                              enabled=body.enabled, expected_version=body.expected_version)


# --- the gateway's callbacks and the short link (no session: each carries its own credential) ----------


def _gateways(request: Request) -> notice_sender.Gateways:
    return notice_sender.from_settings(request.app.state.settings)


@public_router.get("/api/notices/sms/dlr", include_in_schema=True)
def sms_dlr(request: Request, uow: UowDep, notice: int, attempt: int, token: Annotated[str, Query(max_length=64)],
            type: int, reply: Annotated[str, Query(max_length=500)] = "", smsc: str = "",
            at: str = "") -> PlainTextResponse:
    """Kannel's delivery report for one notice (dlr-url); authenticated by the HMAC in the URL."""
    settings = request.app.state.settings
    try:
        notice_sender.handle_dlr(uow, notice_id=notice, attempt=attempt, token=token, dlr_type=type, reply=reply,
                                 secret=settings.sms_callback_secret, gateways=_gateways(request))
    except NotFound:
        return PlainTextResponse("unknown", status_code=404)
    return PlainTextResponse("ok")


@public_router.get("/api/notices/sms/mo")
def sms_reply(request: Request, uow: UowDep, key: Annotated[str, Query(max_length=100)],
              sender: Annotated[str, Query(alias="from", max_length=30)],
              text: Annotated[str, Query(max_length=1000)] = "", to: str = "", at: str = "",
              smsc: str = "") -> PlainTextResponse:
    """A reply from a phone (Kannel's sms-service get-url); the answer is sent back as an SMS."""
    try:
        answer = notice_sender.handle_reply(uow, phone=sender, text=text,
                                            mo_key=request.app.state.settings.sms_mo_key, key=key)
    except NotFound:
        return PlainTextResponse("", status_code=404)
    return PlainTextResponse(answer, media_type="text/plain; charset=utf-8")


_ACK_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>确认通知</title>
<style>body{{font-family:sans-serif;max-width:30em;margin:2em auto;padding:0 1em}}
button{{font-size:1.2em;padding:.6em 2em}}</style></head><body>
<h1>{title}</h1><p>{number}</p><p>{state}</p>{form}</body></html>"""


@public_router.get("/n/{code}", response_class=HTMLResponse)
def short_link(code: Annotated[str, "the notice's code"], uow: UowDep) -> HTMLResponse:
    """The short link in a notice: shows what it is about and a button to acknowledge."""
    import html

    from sqlalchemy import select

    from shuzhi.adapters.db.tables_notices import Notice, NoticeChain

    with uow:
        n = uow.session.scalars(select(Notice).where(Notice.code == code.upper())).first()
        chain_row = uow.session.get(NoticeChain, n.chain_id) if n is not None and n.chain_id else None
        if n is None or chain_row is None:
            return HTMLResponse(_ACK_PAGE.format(title="链接无效", number="", state="链接不存在或已过期。", form=""),
                                status_code=404)
        state = (f"已由{html.escape(chain_row.acked_by or '')}确认。" if chain_row.state == "acknowledged"
                 else "请确认已收到此通知。")
        form = ("" if chain_row.state != "open" else
                f'<form method="post" action="/n/{html.escape(n.code)}"><button type="submit">确认收到</button></form>')
        return HTMLResponse(_ACK_PAGE.format(title=html.escape(n.title),
                                             number=html.escape(str(chain_row.context.get("number") or "")),
                                             state=state, form=form))


@public_router.post("/n/{code}", response_class=HTMLResponse)
def short_link_ack(code: Annotated[str, "the notice's code"], uow: UowDep) -> Response:
    """Acknowledge through the short link."""
    import html

    try:
        got = notice_sender.ack_by_code(uow, code, channel="link")
    except NotFound:
        return HTMLResponse(_ACK_PAGE.format(title="链接无效", number="", state="链接不存在或已过期。", form=""),
                            status_code=404)
    state = "已确认，谢谢。" if got["acknowledged"] else "此通知已被确认。"
    return HTMLResponse(_ACK_PAGE.format(title=html.escape(got["title"]), number=html.escape(str(got["number"] or "")),
                                         state=state, form=""))
