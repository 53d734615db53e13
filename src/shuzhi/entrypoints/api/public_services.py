"""The window (一窗综办): catalogue, cases, 好差评 and its verification, rates; and the public ratings."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from shuzhi.domain import permissions as perms
from shuzhi.entrypoints.api.deps import ActorDep, UowDep, client_ip
from shuzhi.entrypoints.api.ratelimit import TokenBuckets
from shuzhi.entrypoints.api.uploads import read_bytes, upload
from shuzhi.services.errors import Invalid
from shuzhi.services.window import (
    case_views,
    cases,
    catalogue,
    rating_figures,
    ratings,
    self_rating,
    whistle,
    whistle_ratings,
)

router = APIRouter(prefix="/api/services", tags=["services"])
public_router = APIRouter(prefix="/api/public/services", tags=["services"])


@router.get("/search")
def search(uow: UowDep, actor: ActorDep, q: str = "", place: str | None = None, limit: int = 20
           ) -> list[dict[str, Any]]:
    """Matters and bundles by words of their name, keywords, code or department (the window's search)."""
    if len(q) > 100:
        raise Invalid("at most 100 characters", field="q")
    return [asdict(h) for h in catalogue.search(uow, actor, q, place=place, limit=limit)]


@router.get("/matters/{code}")
def get_matter(code: str, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """One matter's guide (办事指南)."""
    return asdict(catalogue.get_matter(uow, code))


@router.put("/matters")
def save_matter(uow: UowDep, actor: ActorDep, document: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    """Create or change a matter's guide; refused with the path of every problem."""
    return asdict(catalogue.save_matter(uow, document, actor))


@router.post("/matters/import")
async def import_matters(file: Annotated[UploadFile, upload(perms.REFERENCE_WRITE)], request: Request,
                         uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Import a 事项清单 workbook (sheets matters + materials) or CSV; all or nothing."""
    data = await read_bytes(file, request.app.state.settings.max_import_bytes)
    return asdict(catalogue.import_matters(uow, data, file.filename or "matters.xlsx", actor))


@router.get("/bundles")
def list_bundles(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Every "one thing" bundle with its matters."""
    return [asdict(b) for b in catalogue.list_bundles(uow)]


@router.get("/bundles/{code}")
def get_bundle(code: str, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """One bundle: questionnaire, shared form, matters by stage."""
    return asdict(catalogue.get_bundle(uow, code))


@router.put("/bundles")
def save_bundle(uow: UowDep, actor: ActorDep, document: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    """Create or change a bundle; refused with the path of every problem."""
    return asdict(catalogue.save_bundle(uow, document, actor))


class WindowIn(BaseModel):
    name: str = Field(max_length=100)
    kind: Literal["district_hall", "town", "village"]
    unit_code: str = Field(max_length=40)
    area_code: str = Field(max_length=15)
    address: str = Field("", max_length=200)


@router.get("/windows")
def list_windows(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """The windows and service points the actor works at or sees."""
    return [asdict(w) for w in catalogue.windows_of(uow, actor)]


@router.put("/windows/{code}")
def save_window(code: str, body: WindowIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Create or change a window or a town/village service point."""
    return asdict(catalogue.save_window(uow, code, body.name, body.kind, body.unit_code, body.area_code,
                                        body.address, actor))


# --- cases ---------------------------------------------------------------------------------------


class ApplicantIn(BaseModel):
    kind: Literal["person", "enterprise"] = "person"
    name: str = Field(max_length=100)
    id_number: str | None = Field(None, max_length=30)
    phone: str | None = Field(None, max_length=30)
    credit_code: str | None = Field(None, max_length=30)


class ProxyIn(BaseModel):
    name: str = Field(max_length=100)
    id_number: str = Field(max_length=30)
    phone: str | None = Field(None, max_length=30)
    relation: str = Field("", max_length=50)


class ApplyIn(BaseModel):
    window_code: str = Field(max_length=40)
    applicant: ApplicantIn
    matter_code: str | None = Field(None, max_length=40)
    bundle_code: str | None = Field(None, max_length=40)
    mode: Literal["window", "nearest", "proxy", "dedicated"] = "window"
    proxy: ProxyIn | None = None
    answers: dict[str, str] = Field(default_factory=dict)
    form: dict[str, str | int | float] = Field(default_factory=dict)
    materials: dict[str, dict[str, str]] = Field(default_factory=dict)
    note: str = Field("", max_length=2000)


@router.post("/cases", status_code=201)
def apply(body: ApplyIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Accept an application (受理): one case, tasks to the departments, the receipt."""
    cmd = cases.Apply(window_code=body.window_code, applicant=cases.Applicant(**body.applicant.model_dump()),
                      matter_code=body.matter_code, bundle_code=body.bundle_code, mode=body.mode,
                      proxy=cases.Proxy(**body.proxy.model_dump()) if body.proxy else None, answers=body.answers,
                      form=dict(body.form), materials=body.materials, note=body.note)
    return asdict(cases.apply(uow, cmd, actor))


@router.get("/cases/{number}")
def get_case(number: str, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """A case: its departments' shares, materials (容缺 owed), promised date; applicant masked."""
    return asdict(case_views.get_case(uow, number, actor))


class SupplyIn(BaseModel):
    attachment_id: int | None = None


@router.post("/cases/{number}/materials/{material_id}/supply")
def supply(number: str, material_id: int, body: SupplyIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """A material accepted under 容缺 is handed in."""
    return asdict(cases.supply_material(uow, number, material_id, actor, attachment_id=body.attachment_id))


class DeliverIn(BaseModel):
    how: str = "window"


@router.post("/cases/{number}/deliver")
def deliver(number: str, body: DeliverIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """The result is handed over or posted (出件)."""
    return asdict(cases.deliver(uow, number, actor, how=body.how))


class ReasonIn(BaseModel):
    reason: str = Field(max_length=2000)


@router.post("/cases/{number}/withdraw")
def withdraw(number: str, body: ReasonIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """The applicant withdraws the application."""
    return asdict(cases.withdraw(uow, number, body.reason, actor))


@router.post("/cases/{number}/rating", status_code=201)
def rate_case(number: str, uow: UowDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    """The applicant's rating of a completed case (好差评): once, never changed."""
    return asdict(ratings.rate_case(uow, number, body, actor))


class VisitIn(BaseModel):
    window_code: str = Field(max_length=40)
    purpose: str = Field(max_length=200)
    matter_code: str | None = Field(None, max_length=40)


@router.post("/visits", status_code=201)
def record_visit(body: VisitIn, uow: UowDep, actor: ActorDep) -> dict[str, int]:
    """A window visit that is not a case (咨询), so it can be rated."""
    return {"id": ratings.record_visit(uow, body.window_code, body.purpose, actor, matter_code=body.matter_code)}


@router.post("/visits/{visit_id}/rating", status_code=201)
def rate_visit(visit_id: int, uow: UowDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]
               ) -> dict[str, Any]:
    """The visitor's rating of a visit: once, never changed."""
    return asdict(ratings.rate_visit(uow, visit_id, body, actor))


# --- 差评 verification, settings, rates ----------------------------------------------------------


@router.get("/verifications")
def list_verifications(uow: UowDep, actor: ActorDep, open_only: bool = True, limit: int = 50
                       ) -> list[dict[str, Any]]:
    """The 差评 the actor's unit or area answers for, most urgent first."""
    return [asdict(v) for v in ratings.list_verifications(uow, actor, open_only=open_only, limit=limit)]


@router.get("/verifications/{vid}")
def get_verification(vid: int, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """One verification with its timeline."""
    return asdict(ratings.get_verification(uow, vid, actor))


@router.post("/verifications/{vid}/{action}")
def verification_action(vid: int, action: str, uow: UowDep, actor: ActorDep,
                        body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    """call_back, unreachable, classify_real/mistaken/malicious, uphold_appeal, reject_appeal, rectify, reply, close."""
    return asdict(ratings.act(uow, vid, action, body, actor))


class SettingsIn(BaseModel):
    bad_rating_limit_days: int
    callback_limit_days: int


@router.get("/settings")
def get_settings(uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """The installation's 差评 limits (working days)."""
    return asdict(ratings.get_settings(uow, actor))


@router.put("/settings")
def put_settings(body: SettingsIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Set the 差评 answer limit (1–15 working days) and the call-back limit."""
    return asdict(ratings.put_settings(uow, body.bad_rating_limit_days, body.callback_limit_days, actor))


@router.get("/rates")
def rates(uow: UowDep, actor: ActorDep, by: str = "window", since: date | None = None, until: date | None = None,
          period: str | None = None) -> list[dict[str, Any]]:
    """好评率, 差评整改率, on-time rectification per window, department, town or clerk; over since/until or
    an evaluation period (``2026-12``, ``2026-W49`` …)."""
    return [asdict(r) for r in rating_figures.rating_rates(uow, actor, by, since=since, until=until,
                                                           period=period)]


@public_router.get("/ratings")
def public_ratings(uow: UowDep, q: str = "", limit: int = 50) -> list[dict[str, Any]]:
    """Each matter's and bundle's ratings for the public: counts, 好评率, average; no personal data."""
    return [asdict(p) for p in ratings.public_ratings(uow, q=q, limit=limit)]


class SelfRatingIn(BaseModel):
    #: anonymous by design: a ``named`` flag (or anything else) is refused, not silently dropped
    model_config = ConfigDict(extra="forbid")

    number: str = Field(max_length=40)
    check_code: str = Field(max_length=20)
    levels: dict[str, Any]
    comment: str = Field(default="", max_length=500)
    channel: Literal["online", "window"] = "online"


def _self_rating_buckets(request: Request) -> tuple[TokenBuckets, TokenBuckets]:
    """Per client, 10 tries a minute (burst 5); per case number, 5 an hour whoever tries: the check code
    cannot be guessed from one address nor from many."""
    state = request.app.state
    if not hasattr(state, "self_rating_buckets"):
        state.self_rating_buckets = (TokenBuckets(10 / 60, 5), TokenBuckets(5 / 3600, 5))
    buckets: tuple[TokenBuckets, TokenBuckets] = state.self_rating_buckets
    return buckets


@public_router.post("/rating", status_code=201)
def rate_by_check_code(body: SelfRatingIn, request: Request, uow: UowDep) -> dict[str, Any]:
    """自助评价: the applicant rates a completed case without signing in, by its number and the receipt's
    check code; once, for good. Answers the grade only (no personal data, nothing of the case)."""
    per_client, per_case = _self_rating_buckets(request)
    per_client.check(client_ip(request) or "?", "too many ratings from this address")
    per_case.check(body.number.strip(), "too many tries for this case number")
    out = self_rating.rate(uow, body.number, body.check_code,
                           {"channel": body.channel, "levels": body.levels, "comment": body.comment})
    return asdict(out)


# --- 企业吹哨·部门报到 ---------------------------------------------------------------------------


class EnterpriseIn(BaseModel):
    name: str = Field(max_length=200)
    area_code: str = Field(max_length=15)
    officer_code: str = Field(max_length=40)


@router.put("/enterprises/{credit_code}")
def save_enterprise(credit_code: str, body: EnterpriseIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """Register an enterprise with its dedicated officer (服务企业专员)."""
    return asdict(whistle.save_enterprise(uow, credit_code, body.name, body.area_code, body.officer_code, actor))


@router.get("/enterprises")
def list_enterprises(uow: UowDep, actor: ActorDep) -> list[dict[str, Any]]:
    """The registered enterprises in the actor's areas (the 企业吹哨 form's list)."""
    return [asdict(e) for e in whistle.list_enterprises(uow, actor)]


class WhistleIn(BaseModel):
    credit_code: str = Field(max_length=30)
    subject: str = Field(max_length=200)
    description: str = Field("", max_length=4000)
    department_codes: list[str] = Field(max_length=20)
    response_days: int = 3


@router.post("/whistles", status_code=201)
def blow_whistle(body: WhistleIn, uow: UowDep, actor: ActorDep) -> dict[str, Any]:
    """An enterprise's call: a task per responsible department with the response deadline."""
    return asdict(whistle.blow(uow, body.credit_code, body.subject, body.description, body.department_codes,
                               body.response_days, actor))


@router.get("/whistles")
def list_whistles(uow: UowDep, actor: ActorDep, mine: bool = False, limit: int = 50) -> list[dict[str, Any]]:
    """Enterprise calls: the officer's own (mine) or those in the actor's area, each department's answer."""
    return [asdict(w) for w in whistle.list_whistles(uow, actor, mine=mine, limit=limit)]


@router.post("/whistles/{number}/rating", status_code=201)
def rate_whistle_handling(number: str, uow: UowDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]
                          ) -> dict[str, Any]:
    """企业评政府: the enterprise's rating of its call's handling (recorded by its officer); once."""
    return asdict(whistle_ratings.rate_handling(uow, number, body, actor))


@router.post("/whistles/{number}/enterprise-rating", status_code=201)
def rate_whistle_enterprise(number: str, uow: UowDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]
                            ) -> dict[str, Any]:
    """部门评企业: a department that answered rates the enterprise's cooperation; once."""
    return asdict(whistle_ratings.rate_enterprise(uow, number, body, actor))


@router.get("/two-way-figures")
def two_way_figures(uow: UowDep, actor: ActorDep, since: date | None = None, until: date | None = None
                    ) -> dict[str, Any]:
    """政企双向评价 per department (enterprises' ratings) and per enterprise (departments' ratings)."""
    return asdict(whistle_ratings.figures(uow, actor, since=since, until=until))
