"""自助评价: the applicant rates a completed case without signing in, by the number and the receipt's
check code — rate-limited, one rating per case, nothing personal answered."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables_public_services import ServiceCase, ServiceRating
from shuzhi.domain import self_rating
from shuzhi.services.unit_of_work import UnitOfWork
from tests.factories import World
from tests.integration.conftest import Api
from tests.integration.test_services_ratings import BAD, GOOD
from tests.integration.test_services_window import _work
from tests.services_factories import ServicesWorld, build_services, newborn_application

URL = "/api/public/services/rating"


@pytest.fixture
def sw(world: World, session_factory: sessionmaker[Session]) -> ServicesWorld:
    with session_factory() as s:
        return build_services(s, world, UnitOfWork(session_factory))
ONLINE = {"guide_accuracy": "satisfied", "convenience": "dissatisfied"}  # online adds two dimensions


def _apply(api: Api) -> tuple[str, str]:
    receipt = api.post("/api/services/cases", "kelly", newborn_application(), status=201)
    assert self_rating.well_formed(receipt["check_code"])
    return receipt["number"], receipt["check_code"]


def _post(api: Api, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    r = api.client.post(URL, json=body)  # no credential at all
    return r.status_code, r.json()


def test_an_applicant_rates_a_completed_case_with_the_check_code_once(
        api: Api, sw: ServicesWorld, session_factory: sessionmaker[Session]) -> None:
    number, code = _apply(api)
    # not completed yet
    status, out = _post(api, {"number": number, "check_code": code, "levels": GOOD})
    assert status == 409, out
    for who in ("hana", "ivan", "judy"):
        _work(api, number, who)
    # a wrong code and an unknown number get the same answer (no existence leak)
    other = "".join("2" if ch != "2" else "3" for ch in code)
    wrong = _post(api, {"number": number, "check_code": other, "levels": GOOD})
    unknown = _post(api, {"number": "NOPE-1", "check_code": code, "levels": GOOD})
    assert wrong[0] == unknown[0] == 404 and wrong[1]["detail"] == unknown[1]["detail"]
    # typed in lower case with a dash, as people do
    typed = code[:4].lower() + "-" + code[4:].lower()
    status, out = _post(api, {"number": number, "check_code": typed, "levels": BAD | ONLINE,
                                "comment": "等太久"})
    assert status == 201, out
    assert out["grade"] == "bad" and set(out) == {"number", "grade", "level_label", "rated_at"}
    assert _post(api, {"number": number, "check_code": code, "levels": GOOD | ONLINE})[0] == 409  # once, for good
    with session_factory() as s:
        rating = s.scalar(select(ServiceRating))
        case = s.scalar(select(ServiceCase).where(ServiceCase.number == number))
        assert rating is not None and case is not None
        assert not rating.named and rating.rater_name is None and rating.rater_phone is None
        assert code not in (case.check_digest or "")  # only the digest is stored
    # the 差评 opened its verification like any other
    assert len(api.get("/api/services/verifications", who="bob")) == 1


def test_bad_input_and_guessing_are_refused(api: Api, sw: ServicesWorld) -> None:
    number, code = _apply(api)
    status, out = _post(api, {"number": number, "check_code": "0O1I", "levels": GOOD})
    assert status == 422 and out["field"] == "check_code"
    status, out = _post(api, {"number": number, "check_code": code, "levels": GOOD, "named": True})
    assert status == 422 and out["field"] == "named"  # pydantic: no such field, or the service: anonymous
    # guessing one case's code from one address runs into the limit
    answers = [_post(api, {"number": number, "check_code": "23456789", "levels": GOOD})[0] for _ in range(8)]
    assert 429 in answers, answers
