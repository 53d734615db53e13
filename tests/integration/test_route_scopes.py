"""Every route of the OpenAPI document, checked for sign-in and data scope.

bob is town A's duty officer, frank town B's. For this test a duty officer's role is given *every*
permission, so that a 403 for a missing permission can never hide a missing scope check: what stops
bob is his scope alone. For each route:

1. Without a credential the answer is 401 (except the few public routes below).
2. Routes that take an object (a path parameter in ``SCOPED_PARAMS``) are called by bob with town B's
   object: the answer must be 404, worded exactly like the answer for an object that does not exist
   (no existence leak), and must not contain B's data. GETs are called by frank too and must succeed
   (so the 404 comes from the scope, not from a broken call).
3. Collections (no path parameter) are called by bob and must not contain any of B's data.
4. Routes that are deliberately not area-scoped are listed in ``UNSCOPED`` with the reason; those that
   need a permission are called by someone without it and must answer 403.
5. Afterwards town B's event is unchanged.

A new route therefore fails here until it is scoped (or listed with a reason). A route with a new
kind of path parameter fails with a message asking for a town-B object in ``SCOPED_PARAMS``, or a
request body in ``BODIES`` when the generated one does not pass validation.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Attachment, Event, TimelineEntry
from shuzhi.domain import permissions as perms
from shuzhi.services.actors import ALL_PERMISSIONS, SYSTEM, forget_people
from tests.factories import World
from tests.integration.conftest import Api


@dataclass(frozen=True)
class Unscoped:
    reason: str
    #: The permission the route needs; someone without it must get 403.
    needs: str | None = None
    #: The test (file, name) that proves the route's area scope, where the route has one of its own
    #: (configuration that belongs to an area); checked to exist like ``SCOPED_ELSEWHERE``.
    proved_by: tuple[str, str] | None = None


OPEN311 = "Open311 GeoReport v2: the spec's own credential (api_key → an API key, answered 403 in the spec's " \
          "error format); discovery and services are public; key scope is tested in test_open311"
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "liveness/readiness for the load balancer; says nothing about data",
    ("POST", "/api/auth/login"): "signing in is how one gets a credential",
    ("GET", "/readyz"): "readiness for the load balancer; says nothing about data",
    ("GET", "/api/notices/sms/dlr"): "Kannel's delivery report: authenticated by the per-notice HMAC in its URL "
                                     "(test_notices_channels)",
    ("GET", "/api/notices/sms/mo"): "Kannel's sms-service: authenticated by the MO key in its get-url "
                                    "(test_notices_channels)",
    ("GET", "/n/{code}"): "a notice's short link: the unguessable code sent to the recipient is the credential",
    ("POST", "/n/{code}"): "acknowledging through a notice's short link: the code is the credential",
    **{(m, f"/open311/v2/{p}"): OPEN311 for m, p in (
        ("GET", "discovery.{format_}"), ("GET", "services.{format_}"), ("GET", "services/{service_code}.{format_}"),
        ("POST", "requests.{format_}"), ("GET", "requests.{format_}"),
        ("GET", "requests/{service_request_id}.{format_}"), ("GET", "tokens/{token}.{format_}"),
        ("GET", "servicerequestupdates.{format_}"), ("POST", "servicerequestupdates.{format_}"))},
    ("POST", "/api/public/services/rating"): "自助评价: the case number and the receipt's check code are the "
                                              "credential; rate-limited, no personal data (test_services_self_rating)",
    ("GET", "/api/public/services/ratings"): "政务服务评价公开: each matter's counts and 好评率, no personal data "
                                             "(test_services_ratings)",
}

REFERENCE = "reference data (areas, units, event classes): every signed-in person needs the whole tree to " \
            "draw maps and choose units; it holds no case data"
OWN = "acts on the caller's own account only (their sessions, tokens, password)"
CONFIG = "installation-wide configuration, not area data; gated by its permission"
RULES = "dispatch rules are read by all who hold rule.read; each belongs to an area and is written only inside " \
        "its author's area (test_write_scopes: a town dispatcher and another town's rule)"

UNSCOPED: dict[tuple[str, str], Unscoped] = {
    ("GET", "/api/areas"): Unscoped(REFERENCE),
    ("GET", "/api/areas/geojson"): Unscoped(REFERENCE),
    ("GET", "/api/areas/locate"): Unscoped(REFERENCE),
    ("GET", "/api/areas/{code}"): Unscoped(REFERENCE),
    ("POST", "/api/areas/import"): Unscoped(REFERENCE, perms.REFERENCE_WRITE),
    ("GET", "/api/units"): Unscoped(REFERENCE),
    ("GET", "/api/units/export"): Unscoped(REFERENCE),
    ("GET", "/api/units/{code}"): Unscoped(REFERENCE),
    ("POST", "/api/units/import"): Unscoped(REFERENCE, perms.REFERENCE_WRITE),
    ("GET", "/api/event-classes"): Unscoped(REFERENCE),
    ("GET", "/api/event-classes/export"): Unscoped(REFERENCE),
    ("GET", "/api/event-classes/{code}"): Unscoped(REFERENCE),
    ("POST", "/api/event-classes/import"): Unscoped(REFERENCE, perms.REFERENCE_WRITE),
    ("GET", "/api/people/export"): Unscoped("staff list for administrators (audited)", perms.USER_ADMIN),
    ("POST", "/api/people/import"): Unscoped("roles are permissions: administrators only (audited)",
                                             perms.USER_ADMIN),
    ("POST", "/api/events"): Unscoped("creates a new event: people report anywhere (首接负责); API keys only "
                                      "as their sources and in their areas (test_auth)", perms.EVENT_SUBMIT),
    ("GET", "/api/dispatch-rules"): Unscoped(CONFIG, perms.RULE_READ),
    ("POST", "/api/dispatch-rules"): Unscoped(RULES, perms.RULE_WRITE),
    ("GET", "/api/dispatch-rules/export"): Unscoped(CONFIG, perms.RULE_READ),
    ("POST", "/api/dispatch-rules/import"): Unscoped(RULES, perms.RULE_WRITE),
    ("GET", "/api/dispatch-rules/{code}"): Unscoped(CONFIG, perms.RULE_READ),
    ("PUT", "/api/dispatch-rules/{code}"): Unscoped(RULES, perms.RULE_WRITE),
    ("DELETE", "/api/dispatch-rules/{code}"): Unscoped(RULES, perms.RULE_WRITE),
    ("GET", "/api/dispatch-rules/{code}/versions"): Unscoped(CONFIG, perms.RULE_READ),
    ("GET", "/api/api-keys"): Unscoped(CONFIG, perms.API_KEY_ADMIN),
    ("POST", "/api/api-keys"): Unscoped(CONFIG, perms.API_KEY_ADMIN),
    ("POST", "/api/api-keys/{key_id}/rotate"): Unscoped(CONFIG, perms.API_KEY_ADMIN),
    ("DELETE", "/api/api-keys/{key_id}"): Unscoped(CONFIG, perms.API_KEY_ADMIN),
    ("PUT", "/api/open311/services/{event_class_code}"): Unscoped(CONFIG, perms.REFERENCE_WRITE),
    # the working calendar (main's calendar part, added beside this test when the branches met)
    ("GET", "/api/calendar/years/{year}"): Unscoped(REFERENCE),
    ("PUT", "/api/calendar/years/{year}"): Unscoped(CONFIG, perms.REFERENCE_WRITE),
    ("DELETE", "/api/calendar/years/{year}"): Unscoped(CONFIG, perms.REFERENCE_WRITE),
    ("GET", "/api/calendar/office-hours/{centre_code}"): Unscoped(REFERENCE),
    ("PUT", "/api/calendar/office-hours/{centre_code}"): Unscoped(REFERENCE, perms.REFERENCE_WRITE),
    ("POST", "/api/bulk/events/import"): Unscoped("creates events, like POST /api/events: reports belong "
                                                  "anywhere; keys only as their sources and areas",
                                                  perms.EVENT_IMPORT),
    ("GET", "/api/audit"): Unscoped("the auditor reads the whole installation's log", perms.AUDIT_READ),
    ("GET", "/api/audit/verify"): Unscoped("the auditor checks the whole chain", perms.AUDIT_READ),
    ("POST", "/api/auth/logout"): Unscoped(OWN),
    ("GET", "/api/auth/me"): Unscoped(OWN),
    ("POST", "/api/auth/password"): Unscoped(OWN),
    ("GET", "/api/auth/tokens"): Unscoped(OWN),
    ("POST", "/api/auth/tokens"): Unscoped(OWN),
}

#: Installation-wide configuration and reference data added by the later parts of the loop.
UNSCOPED.update({
    ("GET", "/api/calendar/years"): Unscoped(REFERENCE),
    ("GET", "/api/calendar/status"): Unscoped(REFERENCE),
    ("GET", "/api/calendar/years/{year}"): Unscoped(REFERENCE),
    ("PUT", "/api/calendar/years/{year}"): Unscoped(CONFIG, perms.REFERENCE_WRITE),
    ("DELETE", "/api/calendar/years/{year}"): Unscoped(CONFIG, perms.REFERENCE_WRITE),
    ("POST", "/api/calendar/years/import"): Unscoped(CONFIG, perms.REFERENCE_WRITE),
    ("GET", "/api/calendar/office-hours/{centre_code}"): Unscoped(REFERENCE),
    ("PUT", "/api/calendar/office-hours/{centre_code}"): Unscoped(CONFIG, perms.REFERENCE_WRITE),
    ("GET", "/api/plans"): Unscoped(CONFIG + " (plan templates)"),
    ("POST", "/api/plans"): Unscoped(CONFIG + " (plan templates)", perms.PLAN_WRITE),
    ("POST", "/api/plans/import"): Unscoped(CONFIG + " (plan templates)", perms.PLAN_WRITE),
    ("GET", "/api/plans/export"): Unscoped(CONFIG + " (plan templates)"),
    ("GET", "/api/plans/{code}"): Unscoped(CONFIG + " (plan templates)"),
    ("GET", "/api/indicators/{code}"): Unscoped(REFERENCE + " (the indicator tree)"),
    ("GET", "/api/threshold-rules/{code}"): Unscoped(CONFIG),
    ("PUT", "/api/threshold-rules/{code}"): Unscoped(CONFIG, perms.INDICATOR_WRITE),
    ("DELETE", "/api/threshold-rules/{code}"): Unscoped(CONFIG, perms.INDICATOR_WRITE),
    ("DELETE", "/api/warning-silences/{silence_id}"): Unscoped(CONFIG, perms.INDICATOR_WRITE),
    ("PUT", "/api/warning-inhibitions/{code}"): Unscoped(CONFIG, perms.INDICATOR_WRITE),
    ("DELETE", "/api/warning-inhibitions/{code}"): Unscoped(CONFIG, perms.INDICATOR_WRITE),
    ("PATCH", "/api/webhooks/{sub_id}"): Unscoped(CONFIG, perms.WEBHOOK_ADMIN),
    ("POST", "/api/webhooks/deliveries/{delivery_id}/replay"): Unscoped(CONFIG, perms.WEBHOOK_ADMIN),
    ("PUT", "/api/evaluation/schemes/{code}"): Unscoped(CONFIG + " (scoring schemes)", perms.EVALUATION_WRITE),
    # hotline intelligence: the model and its automation thresholds are installation-wide configuration
    ("GET", "/api/models"): Unscoped(CONFIG + " (model versions)", perms.MODEL_ADMIN),
    ("POST", "/api/models/{version}/activate"): Unscoped(CONFIG + " (model versions)", perms.MODEL_ADMIN),
    ("POST", "/api/models/rollback"): Unscoped(CONFIG + " (model versions)", perms.MODEL_ADMIN),
    ("GET", "/api/models/thresholds"): Unscoped(CONFIG + " (automation thresholds)", perms.MODEL_ADMIN),
    ("PUT", "/api/models/thresholds/{class_code}"): Unscoped(CONFIG + " (automation thresholds)", perms.MODEL_ADMIN),
    ("DELETE", "/api/models/thresholds/{class_code}"): Unscoped(CONFIG + " (automation thresholds)",
                                                                perms.MODEL_ADMIN),
})

#: Notices (issue #19): configuration and one's own settings and list.
UNSCOPED.update({
    ("GET", "/api/notice-robots"): Unscoped(CONFIG + " (group robots)", perms.NOTICE_ADMIN),
    ("POST", "/api/notice-robots"): Unscoped(CONFIG + " (group robots)", perms.NOTICE_ADMIN),
    # noticeui: a robot is its unit's configuration; a notice administrator with an area scope sees and
    # changes only robots of units in it (404 for another's: test_notice_admin.py,
    # test_a_town_notice_administrator_sees_and_changes_only_his_towns_robots)
    ("PATCH", "/api/notice-robots/{robot_id}"): Unscoped(CONFIG + " (group robots)", perms.NOTICE_ADMIN),
    ("DELETE", "/api/notice-robots/{robot_id}"): Unscoped(CONFIG + " (group robots)", perms.NOTICE_ADMIN),
    ("GET", "/api/escalation-policies"): Unscoped(CONFIG + " (escalation policies)"),
    ("PUT", "/api/escalation-policies/{code}"): Unscoped(CONFIG + " (escalation policies)", perms.NOTICE_ADMIN),
    ("GET", "/api/notices/mine"): Unscoped(OWN),
    ("GET", "/api/notices/settings/mine"): Unscoped(OWN),
    ("PUT", "/api/notices/settings/mine"): Unscoped(OWN),
})

#: The public-service catalogue (事项清单, 办事指南, 一件事) is printed at every window: reference data.
SERVICE_CATALOGUE = REFERENCE + " (the service catalogue: matters, guides, bundles, windows, enterprises)"
UNSCOPED.update({
    ("GET", "/api/services/search"): Unscoped(SERVICE_CATALOGUE),
    ("GET", "/api/services/matters/{code}"): Unscoped(SERVICE_CATALOGUE),
    ("PUT", "/api/services/matters"): Unscoped(SERVICE_CATALOGUE, perms.REFERENCE_WRITE),
    ("POST", "/api/services/matters/import"): Unscoped(SERVICE_CATALOGUE, perms.REFERENCE_WRITE),
    ("GET", "/api/services/bundles"): Unscoped(SERVICE_CATALOGUE),
    ("GET", "/api/services/bundles/{code}"): Unscoped(SERVICE_CATALOGUE),
    ("PUT", "/api/services/bundles"): Unscoped(SERVICE_CATALOGUE, perms.REFERENCE_WRITE),
    ("PUT", "/api/services/windows/{code}"): Unscoped(SERVICE_CATALOGUE, perms.REFERENCE_WRITE),
    ("PUT", "/api/services/enterprises/{credit_code}"): Unscoped(SERVICE_CATALOGUE, perms.REFERENCE_WRITE),
    ("GET", "/api/services/settings"): Unscoped(CONFIG + " (好差评 limits)", perms.EVALUATION_READ),
    # the city's board names (一中心四板块): the same for every town, no case data (issue #20)
    ("GET", "/api/town-boards"): Unscoped(REFERENCE + " (the city's board names)"),
    ("PUT", "/api/town-boards"): Unscoped(CONFIG + " (the city's board names)", perms.REFERENCE_WRITE),
    # the city's grid team roles and duty lists ("1+3+N", "6+1"): the same for every town, no case data
    ("GET", "/api/grid-team-roles"): Unscoped(REFERENCE + " (the city's grid team roles)"),
    ("PUT", "/api/grid-team-roles"): Unscoped(CONFIG + " (the city's grid team roles)", perms.REFERENCE_WRITE),
    ("GET", "/api/grid-duties"): Unscoped(REFERENCE + " (the city's duty lists)"),
    ("PUT", "/api/grid-duties"): Unscoped(CONFIG + " (the city's duty lists)", perms.REFERENCE_WRITE),
    ("PUT", "/api/services/settings"): Unscoped(CONFIG + " (好差评 limits)", perms.EVALUATION_WRITE),
})

#: Configuration that belongs to an area (issue #15): plan templates, scoring schemes and webhooks
#: are walked like area data — town B's template (code TB-PRIV), scheme and subscription carry its secret
#: title, its subscription and delivery are objects (sub_id, delivery_id). Writing them outside one's own
#: area, what a town's scheme scores and what a town's webhook receives: test_config_ownership.
for _walked in (("GET", "/api/plans"), ("POST", "/api/plans"), ("POST", "/api/plans/import"),
                ("GET", "/api/plans/export"), ("GET", "/api/plans/{code}"), ("PATCH", "/api/webhooks/{sub_id}"),
                ("POST", "/api/webhooks/deliveries/{delivery_id}/replay")):
    UNSCOPED.pop(_walked)
UNSCOPED.update({
    ("PUT", "/api/evaluation/schemes/{code}"): Unscoped(
        "create-or-replace by code: a new code is the caller's own area's scheme; another area's is refused "
        "(403, test_config_ownership: test_a_towns_scoring_scheme_never_scores_another_town_nor_the_districts_ranking)",
        perms.EVALUATION_WRITE),
    ("PUT", "/api/open311/services/{event_class_code}"): Unscoped(
        "the one jurisdiction's service list: written at the installation's level only (403 for an area-scoped "
        "person, test_config_ownership)", perms.REFERENCE_WRITE),
})

#: Configuration that belongs to an area (issue #15): read where it concerns the reader (his
#: area, below and above it), changed only inside his own area. These entries replace the "installation-
#: wide configuration" ones above; each names the test that proves its area scope.
_CONFIG_SCOPES = "test_config_scopes.py"
THRESHOLDS = ("threshold rules belong to the area they grade; another town's is not found, the district's or "
              "the indicator's default is read-only below it")
SILENCES = "a silence belongs to its area: another town's is not found, the district's is read-only below it"
INHIBITIONS = "inhibitions tie warnings across areas: installation-wide authors only (403 for a town)"
HOURS = "office hours belong to their centre's area; read by all as reference data (they set deadlines)"
YEARS = "the State Council's holiday years are the same everywhere: installation-wide authors only (403)"
SUPERVISION = "an area's own supervision thresholds: dropped only inside one's area (another town's 404)"
_HOURS_TEST = (_CONFIG_SCOPES,
               "test_a_town_sets_his_own_centres_office_hours_and_never_another_towns_or_the_national_calendar")
UNSCOPED.update({
    **{(m, "/api/threshold-rules/{code}"): Unscoped(THRESHOLDS, need, (_CONFIG_SCOPES, (
        "test_a_town_reads_the_districts_threshold_rules_but_neither_sees_nor_changes_another_towns")))
       for m, need in (("GET", None), ("PUT", perms.INDICATOR_WRITE), ("DELETE", perms.INDICATOR_WRITE))},
    ("DELETE", "/api/warning-silences/{silence_id}"): Unscoped(SILENCES, perms.INDICATOR_WRITE, (
        _CONFIG_SCOPES, "test_a_town_officer_ends_his_towns_silences_only")),
    **{(m, "/api/warning-inhibitions/{code}"): Unscoped(INHIBITIONS, perms.INDICATOR_WRITE, (
        _CONFIG_SCOPES, "test_inhibitions_are_written_by_an_installation_wide_author_only"))
       for m in ("PUT", "DELETE")},
    **{(m, p): Unscoped(YEARS, perms.REFERENCE_WRITE, _HOURS_TEST) for m, p in (
        ("PUT", "/api/calendar/years/{year}"), ("DELETE", "/api/calendar/years/{year}"),
        ("POST", "/api/calendar/years/import"))},
    ("GET", "/api/calendar/office-hours/{centre_code}"): Unscoped(HOURS),
    ("PUT", "/api/calendar/office-hours/{centre_code}"): Unscoped(HOURS, perms.REFERENCE_WRITE, _HOURS_TEST),
    ("DELETE", "/api/supervision/rules/{area_code}"): Unscoped(SUPERVISION, perms.RULE_WRITE, (
        _CONFIG_SCOPES, "test_a_town_neither_sees_another_towns_thresholds_nor_changes_the_districts")),
})

#: Vital signs (issue #22): the rule that colours the tree is installation-wide configuration; the
#: tree itself (GET /api/vital-signs) is a collection walked above (test_vital_signs.py: town B's reader
#: does not see town A's warning).
UNSCOPED.update({
    ("GET", "/api/vital-signs/rule"): Unscoped(CONFIG + " (the vital-sign rule)"),
    ("PUT", "/api/vital-signs/rule"): Unscoped(CONFIG + " (the vital-sign rule)", perms.INDICATOR_WRITE),
    ("GET", "/api/risk-points/kinds"): Unscoped(REFERENCE + " (the kinds of risk point)"),
    ("PUT", "/api/risk-points/kinds"): Unscoped(CONFIG + " (the kinds of risk point)", perms.RISK_POINT_WRITE),
    ("POST", "/api/risk-points/import"): Unscoped("each row's area must lie in the importer's scope, and a code of "
                                                  "another's point is refused without telling (test_risk_points)",
                                                  perms.RISK_POINT_WRITE),
})

#: Areas that change (issue #20): a change is made by the district's administrator inside his district
#: (a town's administrator: 403); the list of changes shows a town's administrator his town's only.
_AREA_CHANGES = ("test_area_changes.py",
                 "test_a_towns_administrator_may_not_change_areas_and_sees_only_his_towns_changes")
AREA_CHANGES = "changes the area tree of the caller's district (a town's administrator is refused, 403)"
UNSCOPED.update({
    ("POST", "/api/area-changes/preview"): Unscoped(AREA_CHANGES, perms.REFERENCE_WRITE, _AREA_CHANGES),
    ("POST", "/api/area-changes"): Unscoped(AREA_CHANGES, perms.REFERENCE_WRITE, _AREA_CHANGES),
    ("GET", "/api/area-changes"): Unscoped("the changes of the areas in the caller's scope",
                                           perms.REFERENCE_WRITE, _AREA_CHANGES),
})

#: Collection governance and the online plan (issue #22, glance_gov): the plan is the city's, installation-wide;
#: GET /api/collection, /api/flood-season and /api/rectifications are collections walked above (series, points
#: and rectifications cut to the reader's area: test_collection.py, test_rectification.py).
UNSCOPED.update({
    ("GET", "/api/collection/plan"): Unscoped(REFERENCE + " (the indicators' online plan, 成熟一批、上线一批)"),
    ("PUT", "/api/collection/plan"): Unscoped(CONFIG + " (the indicators' online plan)", perms.INDICATOR_WRITE),
})
UNSCOPED.update({
    # 赛马比拼 (issue #20): a district's published ranking of its towns is read by every town of the district
    # by design — scores and rates per town, never an event; unpublished periods are 404 (test_town_publications)
    ("POST", "/api/evaluation/publications"): Unscoped(
        "the district centre publishes its towns' ranking (403 below the district: test_town_publications)",
        perms.EVALUATION_PUBLISH),
    ("GET", "/api/evaluation/publications/{period}"): Unscoped(
        "the district's published ranking, read by all its towns by design (赛马比拼); scores only"),
})

#: Scoped by the general rules above, so not listed (uiwork's routes): GET /api/my/decisions and GET/POST
#: /api/users are collections that bob calls and that must not carry town B's data; PATCH
#: /api/users/{person_code} takes a person (SCOPED_PARAMS): bob gets the same 404 for frank as for nobody.
#: Their permissions (task.decide, user.admin) are tested in test_users_and_decisions.py.

#: Object routes whose town-B object is not built here but whose scope is proved by a named test of
#: their own part, through the one loader the route uses (the test below checks the named tests exist).
SCOPED_ELSEWHERE: dict[tuple[str, str], tuple[str, str]] = {
    **{(m, p): ("test_plan_runs.py", "test_a_run_is_seen_only_in_scope") for m, p in (
        ("GET", "/api/plan-runs/{run_id}"), ("POST", "/api/plan-runs/{run_id}/confirm"),
        ("POST", "/api/plan-runs/{run_id}/dismiss"), ("POST", "/api/plan-runs/{run_id}/stand-down"),
        ("GET", "/api/plan-runs/{run_id}/review"), ("PUT", "/api/plan-runs/{run_id}/review/notes"),
        ("POST", "/api/plan-runs/{run_id}/steps/{step_id}/redispatch"))},
    ("POST", "/api/plans/{code}/activate"): ("test_plan_runs.py", "test_bad_requests_change_nothing"),
    ("POST", "/api/events/{ref}/plans/{code}/activate"): ("test_plan_runs.py",
                                                          "test_one_click_from_an_event_twice_gives_one_run"),
    **{(m, p): ("test_warnings.py", "test_warnings_are_scoped_to_the_viewer_and_acknowledged_once") for m, p in (
        ("GET", "/api/warnings/{warning_id}"), ("POST", "/api/warnings/{warning_id}/ack"))},
    ("GET", "/api/reports/{report_id}/report.{fmt}"): ("test_evaluation_reports_api.py",
                                                       "test_reports_render_store_list_and_open_in_libreoffice"),
    **{(m, p): ("test_services_window.py", "test_another_town_cannot_see_the_case") for m, p in (
        ("GET", "/api/services/cases/{number}"), ("POST", "/api/services/cases/{number}/deliver"),
        ("POST", "/api/services/cases/{number}/withdraw"), ("POST", "/api/services/cases/{number}/rating"),
        ("POST", "/api/services/cases/{number}/materials/{material_id}/supply"))},
    ("POST", "/api/services/visits/{visit_id}/rating"): ("test_services_ratings.py",
                                                         "test_a_case_in_progress_cannot_be_rated_and_a_visit_can_once"),
    # svc2: 政企双向评价 on an enterprise's call, through the call's one loader (load_visible_event)
    **{("POST", p): ("test_services_whistle.py", "test_two_way_ratings_are_given_once_each_and_never_changed")
       for p in ("/api/services/whistles/{number}/rating", "/api/services/whistles/{number}/enterprise-rating")},
    # svc3: the enterprises a person may register a call for, in their areas only
    ("GET", "/api/services/enterprises"): ("test_services_whistle.py",
                                           "test_the_call_form_lists_only_the_enterprises_in_ones_areas"),
    **{(m, p): ("test_services_ratings.py", "test_another_town_cannot_see_a_verification") for m, p in (
        ("GET", "/api/services/verifications/{vid}"), ("POST", "/api/services/verifications/{vid}/{action}"))},
}

#: What town B's own person gets where 200 is not the answer for B's object (it still proves he sees it).
OWNER_STATUS: dict[tuple[str, str], int] = {
    ("GET", "/api/events/{ref}/review"): 409,  # a review is for a closed event; B's is still dispatched
}

#: Path parameters that name a scoped object → how to find town B's one (filled in by the fixture).
SCOPED_PARAMS = {"ref", "task_id", "attachment_id", "token_id", "person_code",
                 # duty roster and notices
                 "shift_id", "chain_id",
                 # ledgers: town B's own private ledger, its item, evidence and bulletin
                 "code", "item_id", "ledger_attachment_id", "bulletin_id",
                 # the desk's copy lists
                 "list_id",
                 # the duty desk: town B's handover and an on-post check of town B
                 "handover_id", "check_id",
                 # the grid worker's patrol log (phone)
                 "patrol_id",
                 # the town's structure (issue #20): town B and one of its boards
                 "town_code", "board_key",
                 # grid teams, 五长制 and duty items (issue #20): town B's grid and a due item of its worker
                 "grid_code", "duty_item_id",
                 # a risk point of town B
                 "point_code"}
SCOPED_PARAMS |= {"sub_id", "delivery_id"}  # town B's webhook subscription and one of its deliveries
SCOPED_PARAMS |= {"area_code"}  # 一贯到底: town B's area in the level view (/api/levels/{area_code})
SCOPED_PARAMS |= {"rect_id"}  # a rectification of town B's risk point (issue #22)
#: A value of the same kind that does not exist, to compare the 404s with.
MISSING = {"ref": "500111-20000101-999999", "task_id": "999999", "attachment_id": "999999",
           "token_id": "999999", "person_code": "nobody",
           "shift_id": "999999", "chain_id": "999999",
           "code": "NOLEDGER", "item_id": "999999", "ledger_attachment_id": "999999", "bulletin_id": "999999",
           "list_id": "999999", "handover_id": "999999", "check_id": "999999", "patrol_id": "999999",
           "sub_id": "999999", "delivery_id": "999999", "town_code": "500199999", "board_key": "nosuch",
           "grid_code": "500199999999999", "duty_item_id": "999999",
           "point_code": "NOPOINT", "area_code": "500199999", "rect_id": "999999"}

PNG = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
       + struct.pack(">I", zlib.crc32(b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))))

#: Town B's patrol starts a little before the test runs (a patrol's points may not lie in the future).
PATROL_START = datetime.now(UTC) - timedelta(minutes=10)

#: Bodies for routes whose generated body would not pass validation (placeholders: {ref}).
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/risk-points/{point_code}/rectifications/{rect_id}"): {"action": "cancelled", "note": "x"},
    ("POST", "/api/dispatch/dry-run"): {"number": "{ref}"},
    ("POST", "/api/events/{ref}/merge"): {"master_number": "{ref}", "reason": "重复"},
    ("POST", "/api/events/{ref}/tasks/{task_id}/extension"): {"until": "2099-01-01T00:00:00+08:00",
                                                               "reason": "需要协调"},
    ("POST", "/api/dispatch-rules"): {"code": "R-X", "name": "x", "priority": 1,
                                      "condition": {"field": "source", "op": "eq", "value": "hotline"},
                                      "targets": {"lead": "C500111001"}},
    ("POST", "/api/events"): {"source": "hotline", "title": "x", "lon": World.A1[0], "lat": World.A1[1]},
    ("POST", "/api/ledger-items/{item_id}/links"): {"event_number": "{ref}", "relation": "arose_from"},
    ("POST", "/api/ledgers/{code}/items/from-events"): {"title": "积水整治", "lead_unit": "C500111001",
                                                        "event_numbers": ["{ref}"]},
    ("POST", "/api/events/{ref}/notify"): {"unit_codes": ["C500111001"]},
    ("POST", "/api/copy-lists"): {"name": "x", "unit_codes": ["C500111001"]},
    ("PUT", "/api/copy-lists/{list_id}"): {"name": "x", "unit_codes": ["C500111001"]},
    # the duty desk: town A's bob writing into town B's log, handover and checks
    ("POST", "/api/duty/handovers"): {"unit_code": "C500111002", "to_person_code": "frank2"},
    ("POST", "/api/duty/log"): {"unit_code": "C500111002", "kind": "call", "content": "x"},
    ("POST", "/api/duty/presence-checks"): {"unit_code": "C500111002", "minutes": 5},
    ("POST", "/api/patrols/{patrol_id}/points"): {"points": [{
        "lon": World.B1[0], "lat": World.B1[1], "at": (PATROL_START + timedelta(minutes=1)).isoformat()}]},
    ("POST", "/api/phone/findings"): {"event_class_code": "0201", "lon": World.A1[0], "lat": World.A1[1]},
}
FILES: dict[tuple[str, str], tuple[str, bytes, str]] = {
    ("POST", "/api/events/{ref}/attachments"): ("x.png", PNG, "image/png"),
    ("POST", "/api/areas/import"): ("a.geojson", b'{"type": "FeatureCollection", "features": []}',
                                    "application/geo+json"),
    ("POST", "/api/dispatch-rules/import"): ("r.json", b'{"rules": []}', "application/json"),
}
DEFAULT_FILE = ("x.csv", b"code,name\n", "text/csv")
#: Required query parameters.
QUERY = {"since": "2000-01-01T00:00:00+08:00", "until": "2100-01-01T00:00:00+08:00", "lon": "105.705",
         "lat": "29.705",
         # the duty desk's centre (town B's: bob asks for its log, handovers, open items, daily report)
         "unit_code": "C500111002"}

#: Optional query parameters some routes need here: the live stream would otherwise stay open for minutes.
EXTRA_QUERY: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/api/live/stream"): {"after_id": "0", "timeout": "1", "poll": "0.2"},
}

SECRET_TITLE = "TOWN-B-SECRET 棠香街道五星社区"
SECRET_PHONE = "13987654321"


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def _example(schema: dict[str, Any], doc: dict[str, Any]) -> Any:
    """The smallest value the schema accepts, as far as a schema can tell."""
    schema = _resolve(schema, doc)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            return _example(options[0], doc) if options else None
    if "allOf" in schema:
        return _example(schema["allOf"][0], doc)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: _example(props[k], doc) for k in schema.get("required", [])}
    if kind == "array":
        return [_example(schema.get("items", {}), doc) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        if schema.get("format") == "date-time":
            return "2099-01-01T00:00:00+08:00"
        return "理由" * max(1, (schema.get("minLength", 1) + 1) // 2)
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return float(max(1, schema.get("minimum", 1)))
    if kind == "boolean":
        return True
    return {}


@dataclass
class Town:
    """Town B's objects, as the parameters of the routes name them."""

    params: dict[str, str]
    event_id: int


@pytest.fixture
def town_b(api: Api, world: World, monkeypatch: pytest.MonkeyPatch) -> Town:
    monkeypatch.setitem(perms.ROLE_PERMISSIONS, perms.Role.DUTY_OFFICER, ALL_PERMISSIONS)
    forget_people()
    created = api.post("/api/events", "frank", {
        "source": "hotline", "request_type": "complain", "event_class_code": "0201", "title": SECRET_TITLE,
        "description": "只有棠香街道能看", "lon": World.B1[0], "lat": World.B1[1], "reporter_name": "秘密",
        "reporter_phone": SECRET_PHONE}, status=201)
    ev = api.post(f"/api/events/{created['number']}/dispatch", "frank",
                  {"units": [{"unit_code": "C500111002", "role": "lead"}]})
    files = {"file": ("现场.png", PNG, "image/png")}
    att = api.request("POST", f"/api/events/{ev['number']}/attachments", "frank", 201, files=files)
    frank_token = api.get("/api/auth/tokens", who="frank")[0]["id"]
    params = {"ref": ev["number"], "task_id": str(ev["tasks"][0]["id"]), "attachment_id": str(att["id"]),
              "token_id": str(frank_token), "person_code": "frank", "year": "2027", "centre_code": "C500111002"}
    # duty roster and notices: a shift of town B's centre and an escalation chain about its event
    shift = api.post("/api/duty/shifts", "frank", {"unit_code": "C500111002", "person_code": "frank",
                                                    "role": "officer", "starts_at": "2026-12-07T08:30:00+08:00",
                                                    "ends_at": "2026-12-08T08:30:00+08:00"}, status=201)
    params |= {"shift_id": str(shift["id"]), "chain_id": str(_town_b_chain(api, ev["id"]))}
    # a ledger of town B's own, private: bob must not learn that it or its items exist
    api.post("/api/ledgers", "frank", {"code": "TB-PRIV", "name": SECRET_TITLE, "kind": "key_task",
                                       "owner_unit": "C500111002", "visibility": "private"})
    item = api.post("/api/ledgers/TB-PRIV/items", "frank", {"title": SECRET_TITLE, "lead_unit": "C500111002"},
                    status=201)
    evidence = api.request("POST", f"/api/ledger-items/{item['id']}/attachments", "frank", 201,
                           files={"file": ("佐证.png", PNG, "image/png")})
    posted = api.post("/api/ledgers/TB-PRIV/bulletins", "frank", {"period_kind": "monthly"}, status=201)
    params |= {"code": "TB-PRIV", "item_id": str(item["id"]), "ledger_attachment_id": str(evidence["id"]),
               "bulletin_id": str(posted["id"])}
    # a copy list of town B's centre
    copy_list = api.post("/api/copy-lists", "frank", {"name": SECRET_TITLE, "unit_codes": ["C500111002"]},
                         status=201)
    params |= {"list_id": str(copy_list["id"])}
    params |= _town_b_duty_desk(api)
    # a patrol of town B (frank holds every permission here): its points lie in town B
    patrol = api.post("/api/patrols", "frank", {"point": {"lon": World.B1[0], "lat": World.B1[1],
                                                          "at": PATROL_START.isoformat()}}, status=201)
    params |= {"patrol_id": str(patrol["id"])}
    params |= _town_b_config(api)
    _town_b_warning_config(api)
    # town B's boards (一中心四板块), made by frank (every permission here, town B's scope)
    boards = api.post("/api/towns/500111002/boards", "frank")
    params |= {"town_code": "500111002", "board_key": boards["boards"][2]["key"]}
    params |= _town_b_grid_team(api, world)
    params |= {"point_code": _town_b_risk_point(api)}
    params |= {"area_code": "500111002"}  # 一贯到底: town B's level view
    rect = api.post("/api/risk-points/RP-B/rectifications", "frank", {"finding": SECRET_TITLE})
    params |= {"rect_id": str(rect["id"])}
    return Town(params=params,
                event_id=ev["id"])


def _town_b_grid_team(api: Api, world: World) -> dict[str, str]:
    """Town B's grid with a unit and a team (frank, full-time), a duty list, and one of frank's due items."""
    from shuzhi.adapters.db.tables import Unit

    with api.client.app.state.session_factory() as s:
        s.add(Unit(code="G500111002001001", name="五星社区第1网格", kind="grid", level="grid",
                   area_id=world.areas["500111002001001"].id, parent_id=world.units["C500111002"].id))
        s.commit()
    api.request("PUT", "/api/grid-duties", "admin", json={"duties": [
        {"role": "full_time", "title": SECRET_TITLE, "frequency": "daily", "done_by": "visit"}]})
    api.request("PUT", "/api/towns/500111002/grids/500111002001001/team", "frank",
                json={"members": [{"person_code": "frank", "role": "full_time"}]})
    item = api.get("/api/phone/duties", who="frank")[0]
    return {"grid_code": "500111002001001", "duty_item_id": str(item["id"])}


def _town_b_config(api: Api) -> dict[str, str]:
    """Town B's own configuration, written by frank (every permission here): a plan template with the
    ledgers' code TB-PRIV, a scoring scheme and a webhook subscription (with a delivery), each with the
    secret title."""
    from shuzhi.adapters.db.tables_supervision import OutboxMessage, WebhookDelivery

    api.post("/api/plans", "frank", {
        "code": "TB-PRIV", "name": SECRET_TITLE, "trigger": {"kind": "manual"},
        "tasks": [{"key": "t", "title": SECRET_TITLE, "role": "town_centre", "instruction": "x", "deadline": "4h"}]})
    from shuzhi.domain.scoring import DEFAULT_SCHEME

    api.request("PUT", "/api/evaluation/schemes/TB-SCHEME", "frank", json={"name": SECRET_TITLE,
                                                                            "document": DEFAULT_SCHEME})
    sub = api.post("/api/webhooks", "frank", {"name": SECRET_TITLE, "url": "https://hooks.invalid/tb",
                                              "topics": ["*"]}, status=201)
    now = datetime.now(UTC)
    with api.client.app.state.session_factory() as s:
        msg = OutboxMessage(topic="supervision.leader_urge", area_path="/500000/500111/500111002/",
                            payload={"title": SECRET_TITLE}, created_at=now, fanned_out=True)
        s.add(msg)
        s.flush()
        delivery = WebhookDelivery(subscription_id=sub["id"], outbox_id=msg.id, state="dead", attempts=8,
                                   created_at=now)
        s.add(delivery)
        s.commit()
        return {"sub_id": str(sub["id"]), "delivery_id": str(delivery.id)}
def _town_b_warning_config(api: Api) -> None:
    """Town B's own threshold rule, silence and supervision thresholds (secret text in the first two):
    the configuration lists bob reads (rules, their export, silences) must leave them out."""
    from shuzhi.services.unit_of_work import UnitOfWork
    from tests.sensing_data import load_sensing

    load_sensing(UnitOfWork(api.client.app.state.session_factory))
    api.post("/api/threshold-rules", "frank", {
        "code": "TB-RIVER", "name": SECRET_TITLE, "indicator": "RIVER_LEVEL",
        "conditions": [{"kind": "value", "op": "above", "levels": {"red": 3.5}}]}, status=201)
    api.post("/api/warning-silences", "frank", {
        "ends_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(), "comment": SECRET_TITLE,
        "matcher": {"indicators": ["RIVER_LEVEL"]}}, status=201)
    api.request("PUT", "/api/supervision/rules", "frank", 200, json={"remind_at": [0.5]})


def _town_b_duty_desk(api: Api) -> dict[str, str]:
    """Town B's duty log and a handover from frank to frank2 (secret text in both), and the district's
    on-post check of town B."""
    from shuzhi.adapters.db.tables import Person, Unit

    with api.client.app.state.session_factory() as s:
        unit = s.scalars(select(Unit).where(Unit.code == "C500111002")).one()
        s.add(Person(code="frank2", name="孙二", phone="13800138000", unit_id=unit.id, role="duty_officer"))
        s.commit()
    forget_people()
    api.post("/api/duty/log", "frank", {"unit_code": "C500111002", "kind": "call", "content": SECRET_TITLE},
             status=201)
    handover = api.post("/api/duty/handovers", "frank", {"unit_code": "C500111002", "to_person_code": "frank2",
                                                          "note": SECRET_TITLE}, status=201)
    check = api.post("/api/duty/presence-checks", "alice", {"unit_code": "C500111002", "minutes": 5}, status=201)
    return {"handover_id": str(handover["id"]), "check_id": str(check["id"])}


def _town_b_risk_point(api: Api) -> str:
    """A risk point of town B whose name is the secret."""
    from shuzhi.services.sensing.risk_points import import_risk_points
    from shuzhi.services.unit_of_work import UnitOfWork

    row = {"__row__": "2", "code": "RP-B", "name": SECRET_TITLE, "kind": "waterlogging", "grade": "major",
           "area_code": "500111002", "lon": str(World.B1[0]), "lat": str(World.B1[1]),
           "responsible_unit_code": "C500111002", "responsible_person": "孙强"}
    report = import_risk_points(UnitOfWork(api.client.app.state.session_factory), [row], SYSTEM)
    assert not report.errors, report.errors
    return "RP-B"


def _town_b_chain(api: Api, event_id: int) -> int:
    """An escalation chain about town B's event, addressed to town B's centre."""
    from datetime import UTC, datetime

    from shuzhi.adapters.db.tables import Unit
    from shuzhi.services.notices import escalation

    with api.client.app.state.session_factory() as s:
        unit = s.scalars(select(Unit).where(Unit.code == "C500111002")).one()
        chain = escalation.start_chain(s, kind="warning.red", subject="town-b", unit=unit, event_id=event_id,
                                       context={"number": "B", "place": SECRET_TITLE}, at=datetime.now(UTC))
        assert chain is not None
        s.commit()
        return chain.id


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "1"), path)


def _call(client: TestClient, doc: dict[str, Any], method: str, path: str, values: dict[str, str],
          headers: dict[str, str]) -> Any:
    op = doc["paths"][path][method.lower()]
    params = {p["name"]: QUERY[p["name"]] for p in op.get("parameters", [])
              if p["in"] == "query" and p.get("required") and p["name"] in QUERY}
    params.update(EXTRA_QUERY.get((method, path), {}))
    kw: dict[str, Any] = {}
    content = op.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:
        kw["files"] = {"file": FILES.get((method, path), DEFAULT_FILE)}
    elif "application/json" in content:
        body = BODIES.get((method, path))
        if body is None:
            body = _example(content["application/json"]["schema"], doc)
        kw["content"] = _fill(json.dumps(body, ensure_ascii=False), values).encode()
        headers = {**headers, "Content-Type": "application/json"}
    return client.request(method, _fill(path, values), params=params, headers=headers, **kw)


def _routes(client: TestClient) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    doc = client.app.openapi()
    return doc, [(m.upper(), p) for p, ops in doc["paths"].items() for m in ops]


def _state(factory: sessionmaker[Session], event_id: int) -> tuple[Any, ...]:
    with factory() as s:
        return (s.scalar(select(Event.version).where(Event.id == event_id)),
                s.scalar(select(func.count(TimelineEntry.id)).where(TimelineEntry.event_id == event_id)),
                s.scalar(select(func.count(Attachment.id)).where(Attachment.event_id == event_id)))


def test_every_route_needs_a_credential(api: Api, town_b: Town) -> None:
    doc, routes = _routes(api.client)
    problems = []
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        r = _call(api.client, doc, method, path, town_b.params, {})
        if r.status_code != 401:
            problems.append(f"{method} {path}: answered {r.status_code} without a credential (expected 401): "
                            f"{r.text[:200]}")
    assert not problems, "\n".join(problems)


def test_a_town_a_person_cannot_read_or_change_town_b_objects(api: Api, town_b: Town,
                                                              session_factory: sessionmaker[Session]) -> None:
    doc, routes = _routes(api.client)
    before = _state(session_factory, town_b.event_id)
    leaks = [SECRET_TITLE, SECRET_PHONE, "只有棠香街道能看"]
    problems: list[str] = []
    bob, frank = api.headers("bob"), api.headers("frank")
    known = set(PUBLIC) | set(UNSCOPED) | set(SCOPED_ELSEWHERE)
    for method, path in routes:
        if (method, path) in known:
            continue
        names = re.findall(r"\{(\w+)\}", path)
        unknown = [n for n in names if n not in SCOPED_PARAMS]
        if unknown:
            problems.append(f"{method} {path}: path parameter(s) {unknown} have no town-B object in this test; "
                            "add one to SCOPED_PARAMS and the town_b fixture, or list the route in UNSCOPED "
                            "with the reason it needs no scope")
            continue
        r = _call(api.client, doc, method, path, town_b.params, bob)
        leaked = [s for s in leaks if s in r.text]
        if leaked:
            problems.append(f"{method} {path}: town A's bob received town B's data {leaked} "
                            f"(status {r.status_code})")
        if not names:
            if r.status_code >= 500:
                problems.append(f"{method} {path}: {r.status_code} for bob")
            continue
        if r.status_code != 404:
            hint = " (the body did not validate: add one to BODIES)" if r.status_code == 422 else ""
            problems.append(f"{method} {path}: bob got {r.status_code} for town B's object, expected 404{hint}: "
                            f"{r.text[:200]}")
            continue
        missing = {**town_b.params, **{n: MISSING[n] for n in names}}
        m = _call(api.client, doc, method, path, missing, bob)
        seen = r.text
        for n in names:
            seen = seen.replace(town_b.params[n], "<id>")
        unseen = m.text
        for n in names:
            unseen = unseen.replace(missing[n], "<id>")
        if (m.status_code, unseen) != (r.status_code, seen):
            problems.append(f"{method} {path}: the answer for town B's object ({r.status_code} {r.text[:120]}) "
                            f"differs from the one for a missing object ({m.status_code} {m.text[:120]}): "
                            "it tells that the object exists")
        if method == "GET":
            ok = _call(api.client, doc, method, path, town_b.params, frank)
            if ok.status_code != OWNER_STATUS.get((method, path), 200):
                problems.append(f"{method} {path}: frank (town B) got {ok.status_code} for his own object, so "
                                f"the 404 for bob proves nothing: {ok.text[:200]}")
    assert _state(session_factory, town_b.event_id) == before, "town B's event was changed by bob's calls"
    assert not problems, "\n".join(problems)


def test_unscoped_routes_are_listed_with_reasons_and_need_their_permission(api: Api, town_b: Town) -> None:
    doc, routes = _routes(api.client)
    existing = set(routes)
    stale = [k for k in (set(PUBLIC) | set(UNSCOPED)) if k not in existing]
    assert not stale, f"listed routes that no longer exist (remove them): {stale}"
    people = {"alice": "dispatcher", "carol": "handler", "dave": "grid_worker", "audrey": "auditor",
              "admin": "administrator"}
    problems = []
    for (method, path), entry in UNSCOPED.items():
        assert entry.reason, f"{method} {path} is listed without a reason"
        if entry.needs is None:
            continue
        lacking = [p for p, role in people.items() if entry.needs not in perms.ROLE_PERMISSIONS[perms.Role(role)]]
        assert lacking, f"{method} {path}: every test person has {entry.needs}; cannot check the 403"
        r = _call(api.client, doc, method, path, town_b.params, api.headers(lacking[0]))
        if r.status_code != 403:
            problems.append(f"{method} {path}: {lacking[0]} lacks {entry.needs} but got {r.status_code}: "
                            f"{r.text[:200]}")
    assert not problems, "\n".join(problems)


def test_lists_counts_and_aggregates_leave_out_other_towns(api: Api, town_b: Town) -> None:
    """The numbers a town sees are its own: list, total and dispatch accuracy."""
    api.submit(who="bob")  # one event in town A
    mine = api.get("/api/events", who="bob", params={"with_total": "true"})
    theirs = api.get("/api/events", who="frank", params={"with_total": "true"})
    assert mine["total"] == len(mine["items"]) == 1 and mine["items"][0]["area_chain"][2] == "500111001"
    assert theirs["total"] == 1 and theirs["items"][0]["title"] == SECRET_TITLE
    assert api.get("/api/events", who="alice", params={"with_total": "true"})["total"] == 2  # the district
    q = {"since": QUERY["since"], "until": QUERY["until"]}
    assert sum(r["dispatched"] for r in api.get("/api/dispatch/accuracy", who="bob", params=q)) == 0
    assert sum(r["dispatched"] for r in api.get("/api/dispatch/accuracy", who="frank", params=q)) == 1
    # people: each town sees its own staff
    assert "frank" not in {p["code"] for p in api.get("/api/people", who="bob")}
    assert "frank" in {p["code"] for p in api.get("/api/people", who="frank")}


def test_routes_scoped_elsewhere_name_real_tests(api: Api) -> None:
    """The tests named for the routes whose scope is proved in their own part exist and test scope."""
    from pathlib import Path

    _doc, routes = _routes(api.client)
    here = Path(__file__).parent
    for (method, path), (file, name) in SCOPED_ELSEWHERE.items():
        assert (method, path) in set(routes), f"{method} {path} no longer exists: remove it from SCOPED_ELSEWHERE"
        text = (here / file).read_text(encoding="utf-8")
        assert f"def {name}" in text, f"{method} {path}: {file} has no test {name}"
    for (method, path), entry in UNSCOPED.items():
        if entry.proved_by is not None:
            file, name = entry.proved_by
            text = (here / file).read_text(encoding="utf-8")
            assert f"def {name}(" in text, f"{method} {path}: {file} has no test {name}"


#: Writes on an event or task that someone who sees the event may still do without an event-level role,
#: with why, and the status carol (a department holding a live assisting task) gets.
ACT_WITHOUT_ROLE: dict[tuple[str, str], tuple[int, str]] = {
    ("POST", "/api/events/{ref}/reveal"): (200, "reading the reporter's contact (audited) is sight, not action: "
                                                "the unit holding a task calls the reporter"),
    ("POST", "/api/events/{ref}/escalate"): (422, "上报 is a centre's act on its own task or case; a department "
                                                  "returns its task instead (the answer says so)"),
    ("PUT", "/api/events/{ref}/review/notes"): (409, "a review is written for a closed event only"),
    ("POST", "/api/events/{ref}/attachments"): (201, "the unit holding a live task adds its photos and papers; "
                                                     "once its task ended it may not (test_write_scopes)"),
}
#: Reads on an event that are for those with an event-level role only, with why.
READ_FOR_EVENT_LEVEL: dict[tuple[str, str], str] = {
    ("GET", "/api/events/{ref}/plans"): "the plan runs of the event are scoped like runs (by area and owner), "
                                           "not by task: a unit sees the tasks a run gave it in its inbox",
}


def test_people_who_see_an_event_but_hold_no_role_on_it_cannot_change_it(
        api: Api, town_b: Town, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write route on an event or a task, walked by people with *every* permission:

    - carol, of a district department holding a live assisting task in town B's event, sees the event
      (every GET answers) but may act on her own task only: each event-level write and each write on
      town B's centre's task answers 403;
    - dave, a grid worker of town A, does not even see it: 404, like bob (the test above);
    - afterwards town B's event is unchanged.
    """
    for role in (perms.Role.HANDLER, perms.Role.GRID_WORKER):
        monkeypatch.setitem(perms.ROLE_PERMISSIONS, role, ALL_PERMISSIONS)
    forget_people()
    api.post(f"/api/events/{town_b.params['ref']}/dispatch", "frank",
             {"units": [{"unit_code": "D500111-CGJ", "role": "assist"}]})
    doc, routes = _routes(api.client)
    before = _state(session_factory, town_b.event_id)
    carol, dave = api.headers("carol"), api.headers("dave")
    problems: list[str] = []
    walked = 0
    for method, path in routes:
        names = set(re.findall(r"\{(\w+)\}", path))
        if not names & {"ref", "task_id"} or not names <= SCOPED_PARAMS | {"code"}:
            continue
        if method == "GET":
            r = _call(api.client, doc, method, path, town_b.params, carol)
            if r.status_code == 404 and (method, path) not in READ_FOR_EVENT_LEVEL:
                problems.append(f"GET {path}: carol (with a live task) does not see the event: {r.text[:120]}")
            continue
        walked += 1
        expected, _why = ACT_WITHOUT_ROLE.get((method, path), (403, ""))
        r = _call(api.client, doc, method, path, town_b.params, carol)
        if r.status_code != expected:
            problems.append(f"{method} {path}: carol got {r.status_code}, expected {expected}: {r.text[:200]}")
        r = _call(api.client, doc, method, path, town_b.params, dave)
        if r.status_code != 404:
            problems.append(f"{method} {path}: dave (town A's grid) got {r.status_code}, expected 404: "
                            f"{r.text[:200]}")
    assert walked >= 25, f"only {walked} write routes on events and tasks were walked"
    assert _state(session_factory, town_b.event_id)[0] == before[0], "town B's event was changed"
    assert not problems, "\n".join(problems)
