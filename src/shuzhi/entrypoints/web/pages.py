"""Page routes: each returns a server-rendered shell; the data comes from the JSON API in the browser.

The shells carry no personal data, so they need no actor: who is acting is settled by the API calls
(the session cookie after sign-in, the ``X-Actor`` header before it), which are scoped and checked.
"""

from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import Headers
from starlette.types import Scope

from shuzhi.domain import notices as notice_rules
from shuzhi.domain import scoring
from shuzhi.domain.permissions import Role
from shuzhi.domain.redirects import safe_next
from shuzhi.entrypoints.web.messages_zh import MESSAGES

HERE = Path(__file__).parent
STATIC = HERE / "static"
VENDOR_FILES = ("echarts.min.js",)
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)

# (path, template, nav key) — a page of a part not installed yet shows the empty state (暂无数据).
NAV = [
    ("/", "nav.cockpit"),
    ("/events", "nav.events"),
    ("/inbox", "nav.inbox"),
    ("/tasks", "nav.tasks"),
    ("/verify", "nav.verify"),
    ("/warnings", "nav.warnings"),
    ("/indicators", "nav.indicators"),
    ("/vital-signs", "nav.vitals"),
    ("/levels", "nav.levels"),
    ("/collection", "nav.collection"),
    ("/risk-points", "nav.risk_points"),
    ("/flood-season", "nav.flood"),
    ("/plans", "nav.plans"),
    ("/evaluation", "nav.evaluation"),
    ("/analysis", "nav.analysis"),
    ("/ledgers", "nav.ledgers"),
    ("/duty", "nav.duty"),
    ("/town", "nav.town"),
    ("/area-changes", "nav.area_changes"),
    ("/window", "nav.window"),
    ("/whistles", "nav.whistles"),
    ("/admin", "nav.admin"),
    ("/m", "nav.phone"),
]


def _messages_json() -> str:
    # "<" escaped so that no message can close the <script> block it is embedded in
    return json.dumps(MESSAGES, ensure_ascii=False).replace("<", "\\u003c")


_MESSAGES_JSON = _messages_json()


def _page(request: Request, template: str, page: str, **extra: Any) -> Response:
    context = {"t": MESSAGES, "messages_json": _MESSAGES_JSON, "nav": NAV, "page": page,
               "path": request.url.path, **extra}
    response = templates.TemplateResponse(request, template, context)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/", response_class=HTMLResponse)
def cockpit_page(request: Request) -> Response:
    return _page(request, "cockpit.html", "cockpit")


@router.get("/cockpit")
def cockpit_alias() -> Response:
    return RedirectResponse("/", status_code=307)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    # Checked here and again in login.js: only a path on this site (domain/redirects.py).
    return _page(request, "login.html", "login", next_target=safe_next(next))


@router.get("/events", response_class=HTMLResponse)
def events_page(request: Request) -> Response:
    return _page(request, "events.html", "events")


@router.get("/events/{number}", response_class=HTMLResponse)
def event_page(request: Request, number: str) -> Response:
    return _page(request, "event.html", "event", number=number)


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request) -> Response:
    """收件箱: my unit's copies and tasks from above, work waiting from below, my messages."""
    return _page(request, "inbox.html", "inbox")


@router.get("/town", response_class=HTMLResponse)
def town_page(request: Request) -> Response:
    """镇街架构: a town's centre, boards, leaders in charge, posts and holders, duties (issue #20)."""
    return _page(request, "town.html", "town")


@router.get("/area-changes", response_class=HTMLResponse)
def area_changes_page(request: Request) -> Response:
    """区域变更: a district administrator previews a merge, split or moved boundary, then applies it (#20)."""
    return _page(request, "area_changes.html", "area_changes")


@router.get("/tasks", response_class=HTMLResponse)
def tasks_page(request: Request) -> Response:
    return _page(request, "tasks.html", "tasks")


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request) -> Response:
    return _page(request, "verify.html", "verify")


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request) -> Response:
    return _page(request, "admin.html", "admin", roles=[r.value for r in Role])


@router.get("/plans", response_class=HTMLResponse)
def plans_page(request: Request) -> Response:
    return _page(request, "plans.html", "plans")


@router.get("/plans/templates", response_class=HTMLResponse)
def plan_editor_page(request: Request) -> Response:
    """预案模板编辑: create a template or change one, problems shown at their field (plan.write)."""
    return _page(request, "plan_editor.html", "plans")


_SCHEME_OPTIONS = json.dumps({"rates": list(scoring.SCORED_RATES), "figures": list(scoring.COUNTED)})


@router.get("/evaluation/schemes", response_class=HTMLResponse)
def scheme_editor_page(request: Request) -> Response:
    """评分办法编辑: scoring schemes — items, deductions, bonuses, colour bands, red and black lists."""
    return _page(request, "scheme_editor.html", "evaluation", options_json=_SCHEME_OPTIONS)


@router.get("/evaluation", response_class=HTMLResponse)
def evaluation_page(request: Request) -> Response:
    return _page(request, "evaluation.html", "evaluation")


@router.get("/analysis", response_class=HTMLResponse)
def analysis_page(request: Request) -> Response:
    """分析研判: hot topics, rising topics, hot spots, unusual volumes, repeats, the weekly report."""
    return _page(request, "analysis.html", "analysis")


@router.get("/warnings", response_class=HTMLResponse)
def warnings_page(request: Request) -> Response:
    return _page(request, "warnings.html", "warnings")


@router.get("/vital-signs", response_class=HTMLResponse)
def vital_signs_page(request: Request) -> Response:
    return _page(request, "vital_signs.html", "vital-signs")


@router.get("/levels", response_class=HTMLResponse)
def levels_page(request: Request) -> Response:
    """一贯到底: one level's panels (city → district → town → village → grid), down by a click, up by the breadcrumb."""
    return _page(request, "levels.html", "levels")
@router.get("/collection", response_class=HTMLResponse)
def collection_page(request: Request) -> Response:
    """采集治理: coverage, staleness, gaps, late and rejected readings; the online plan (issue #22)."""
    return _page(request, "collection.html", "collection")


@router.get("/risk-points", response_class=HTMLResponse)
def risk_points_page(request: Request) -> Response:
    """风险点整改: open rectifications and one point's loop (found → measures → done → verified)."""
    return _page(request, "risk_points.html", "risk-points")


@router.get("/flood-season", response_class=HTMLResponse)
def flood_season_page(request: Request) -> Response:
    """汛期: every 易涝点 with the nearest rainfall, river level and water depth."""
    return _page(request, "flood_season.html", "flood-season")


@router.get("/indicators", response_class=HTMLResponse)
def indicators_page(request: Request) -> Response:
    return _page(request, "indicators.html", "indicators")


@router.get("/ledgers", response_class=HTMLResponse)
def ledgers_page(request: Request) -> Response:
    return _page(request, "ledgers.html", "ledgers")


@router.get("/duty", response_class=HTMLResponse)
def duty_page(request: Request) -> Response:
    """值班管理: roster by week, import, who is on duty, duty log and daily report, handover, on-post checks."""
    return _page(request, "duty.html", "duty")


@router.get("/patrols", response_class=HTMLResponse)
def patrols_page(request: Request) -> Response:
    """巡查记录 for the centre: its grid workers' patrols, each with its track and findings (patrol.read)."""
    return _page(request, "patrols.html", "patrols")


@router.get("/window", response_class=HTMLResponse)
def window_page(request: Request) -> Response:
    return _page(request, "window.html", "window")


@router.get("/notices", response_class=HTMLResponse)
def my_notices_page(request: Request) -> Response:
    """我的通知: my channels and quiet hours, the notices I received (everyone signed in)."""
    kinds = [(k.value, k.value in notice_rules.URGENT_KINDS) for k in notice_rules.NoticeKind]
    return _page(request, "my_notices.html", "notices", kinds=kinds)


_NOTICE_OPTIONS = json.dumps({"kinds": [k.value for k in notice_rules.NoticeKind],
                              "who": [w.value for w in notice_rules.Who],
                              "channels": [c.value for c in notice_rules.Channel]})


@router.get("/notices/admin", response_class=HTMLResponse)
def notice_admin_page(request: Request) -> Response:
    """通知配置: group robots, escalation policies, a person's notices (notice.admin; policies read-only
    for others)."""
    return _page(request, "notice_admin.html", "notice-admin", options_json=_NOTICE_OPTIONS)


#: The phone page carries only the messages it shows (a slow connection: ~8 KB instead of the whole catalogue).
_PHONE_PREFIXES = ("phone.", "task_state.", "common.", "app.", "role.")
_PHONE_MESSAGES_JSON = json.dumps({k: v for k, v in MESSAGES.items() if k.startswith(_PHONE_PREFIXES)},
                                  ensure_ascii=False).replace("<", "\\u003c")


@router.get("/m", response_class=HTMLResponse)
def phone_page(request: Request) -> Response:
    """The grid worker's phone: report a finding, own tasks, verification on the spot, the patrol log."""
    return _page(request, "phone.html", "phone", messages_json=_PHONE_MESSAGES_JSON)


@router.get("/public/ratings", response_class=HTMLResponse)
def public_ratings_page(request: Request) -> Response:
    """政务服务好差评公开: open to everyone, no sign-in, no personal data."""
    return _page(request, "public_ratings.html", "public")


@router.get("/rate", response_class=HTMLResponse)
def self_rating_page(request: Request) -> Response:
    """自助评价: the applicant rates a completed case with the receipt's number and check code; no sign-in."""
    return _page(request, "rate.html", "public")


@router.get("/whistles", response_class=HTMLResponse)
def whistles_page(request: Request) -> Response:
    """企业吹哨·部门报到: the dedicated officer's enterprise calls, each department's answer and the two-way ratings."""
    return _page(request, "whistles.html", "whistles")


class GzipStatic(StaticFiles):
    """Static files, scripts and styles gzipped for a client that accepts it.

    The ECharts bundle is 648 kB, 227 kB gzipped: on a wall display's 20 Mbit/s link that is about
    170 ms less before the cockpit can draw, at every cold load (issue #22's risk map is timed from the
    navigation). Each file is compressed once per process and version (path, modification time, size);
    its gzipped form has its own ETag (``If-None-Match`` → 304) and says ``Vary: Accept-Encoding``.
    Ranges and HEAD are answered as before, uncompressed."""

    SUFFIXES = (".js", ".css", ".json", ".svg")
    _packed: dict[str, tuple[tuple[int, int], bytes]] = {}
    _lock = threading.Lock()

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        request = Headers(scope=scope)
        if (scope["method"] != "GET" or response.status_code != 200 or not isinstance(response, FileResponse)
                or not str(response.path).endswith(self.SUFFIXES) or "range" in request
                or "gzip" not in request.get("accept-encoding", "").lower() or response.stat_result is None):
            return response
        st = response.stat_result
        version = (st.st_mtime_ns, st.st_size)
        file = str(response.path)
        held = self._packed.get(file)
        if held is None or held[0] != version:
            with open(file, "rb") as f:  # a small file, once per version: not worth a thread
                held = (version, gzip.compress(f.read(), compresslevel=9, mtime=0))
            with self._lock:
                self._packed[file] = held
        etag = response.headers.get("etag", "").replace('"', "")
        headers = {"ETag": f'"{etag}-gz"', "Vary": "Accept-Encoding", "Content-Encoding": "gzip",
                   "Last-Modified": response.headers.get("last-modified", "")}
        if headers["ETag"] in request.get("if-none-match", "").replace("W/", "").split(", "):
            return Response(status_code=304, headers=headers)
        return Response(held[1], media_type=response.media_type, headers=headers)


def install(app: FastAPI) -> None:
    """Mount the pages and their static files (vendor libraries are copied there by ``make setup``)."""
    app.include_router(router)
    app.mount("/static", GzipStatic(directory=str(STATIC)), name="static")


def missing_vendor_files() -> list[str]:
    return [f for f in VENDOR_FILES if not (STATIC / "vendor" / f).is_file()]
