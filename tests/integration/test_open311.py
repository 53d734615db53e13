"""Open311 GeoReport v2 conformance, written from the specification text (wiki.open311.org/GeoReport_v2
and the servicerequestupdates extension as published with FixMyStreet's Open311 spec).

Each test quotes the sentence it checks. Both formats are checked: JSON parsed with ``json``, XML with
``xml.etree`` (a real parser: a malformed or mis-encoded document fails to parse).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.adapters.db.tables import Event
from shuzhi.domain.open311 import STATUS_OF_STATE
from tests.factories import World
from tests.integration.conftest import Api

BASE = "/open311/v2"
FORMATS = ["json", "xml"]


@pytest.fixture
def key(api: Api, world: World) -> str:
    """A connected system's write key for the whole district, submitting as online_app (渝快办)."""
    made = api.post("/api/api-keys", "admin", {"name": "市民App", "sources": ["online_app"], "write": True},
                    status=201)
    return str(made["key"])


def _xml(r: Any) -> ET.Element:
    assert r.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), r.content[:80]
    return ET.fromstring(r.content)


def _post(client: TestClient, fmt: str, key: str | None, **fields: Any) -> Any:
    form = {"service_code": "0101", "lat": str(World.A1[1]), "long": str(World.A1[0]),
            "description": "人行道井盖破损，有行人绊倒风险"}
    if key is not None:
        form["api_key"] = key
    form.update({k: v for k, v in fields.items() if v is not None})
    return client.post(f"{BASE}/requests.{fmt}", data=form)


def _errors(r: Any, fmt: str) -> list[tuple[int, str]]:
    if fmt == "json":
        return [(e["code"], e["description"]) for e in r.json()]
    root = _xml(r)
    assert root.tag == "errors"
    return [(int(e.findtext("code") or 0), e.findtext("description") or "") for e in root.findall("error")]


# --- discovery -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_names_the_endpoint_its_specification_and_formats(client: TestClient, world: World,
                                                                    fmt: str) -> None:
    """"GeoReport v2 and subsequent Open311 APIs are also required to have a standard service discovery
    file associated with them to provide routing between versions and types of APIs.\""""
    r = client.get(f"{BASE}/discovery.{fmt}")
    assert r.status_code == 200
    if fmt == "json":
        doc = r.json()
        endpoint = doc["endpoints"][0]
        formats = endpoint["formats"]
    else:
        root = _xml(r)
        assert root.tag == "discovery"
        doc = {"changeset": root.findtext("changeset"), "contact": root.findtext("contact")}
        ep = root.find("endpoints/endpoint")
        assert ep is not None
        endpoint = {c.tag: c.text for c in ep if c.tag != "formats"}
        formats = [f.text for f in ep.findall("formats/format")]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and endpoint["type"] == "production"
    assert set(formats) == {"text/xml", "application/json"}
    assert doc["changeset"] and "值班" in doc["contact"]


# --- encoding ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_text_is_utf8_with_the_header_and_the_xml_declaration(client: TestClient, world: World, fmt: str) -> None:
    """"All text returned by the service, whether in XML, JSON, or any other text-based content-type, MUST
    be encoded as UTF-8. Appropriate HTTP headers must be set, and the root element must be preceded with
    the XML declaration including the encoding="UTF-8" attribute.\""""
    r = client.get(f"{BASE}/services.{fmt}")
    assert r.status_code == 200
    assert "charset=utf-8" in r.headers["content-type"].lower()
    assert r.headers["content-type"].startswith("application/json" if fmt == "json" else "text/xml")
    assert "井盖破损".encode() in r.content  # Chinese kept as UTF-8, not escaped away
    if fmt == "xml":
        _xml(r)


# --- services ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_list_has_the_specified_fields(client: TestClient, world: World, fmt: str) -> None:
    """GET Service List: "Provide a list of acceptable 311 service request types and their associated
    service codes" — each with service_code, service_name, description, metadata, type, keywords, group;
    "type: realtime, batch, blackbox"; "metadata: true / false"."""
    r = client.get(f"{BASE}/services.{fmt}")
    assert r.status_code == 200
    if fmt == "json":
        items = r.json()
    else:
        root = _xml(r)
        assert root.tag == "services"
        items = [{c.tag: c.text for c in s} for s in root.findall("service")]
    by_code = {i["service_code"]: i for i in items}
    assert set(by_code) == {c for c in world.classes}  # one service per active event class
    pothole = by_code["0101"]
    assert set(pothole) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    assert pothole["service_name"] == "井盖破损" and pothole["group"] == "公用设施"
    assert pothole["type"] == "realtime"
    assert pothole["metadata"] in (True, "true")


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition_lists_attributes(client: TestClient, world: World, fmt: str) -> None:
    """GET Service Definition: "Define attributes associated with a service code" — each attribute with
    variable, code, datatype, required, datatype_description, order, description, and for list types
    "values" of key and name."""
    r = client.get(f"{BASE}/services/0101.{fmt}")
    assert r.status_code == 200
    if fmt == "json":
        doc = r.json()
        code, attrs = doc["service_code"], doc["attributes"]
        values = {a["code"]: [v["key"] for v in a.get("values", [])] for a in attrs}
        datatypes = {a["code"]: a["datatype"] for a in attrs}
        orders = [a["order"] for a in attrs]
    else:
        root = _xml(r)
        assert root.tag == "service_definition"
        code = root.findtext("service_code")
        attrs_el = root.findall("attributes/attribute")
        values = {a.findtext("code"): [v.findtext("key") for v in a.findall("values/value")] for a in attrs_el}
        datatypes = {a.findtext("code"): a.findtext("datatype") for a in attrs_el}
        orders = [int(a.findtext("order") or 0) for a in attrs_el]
        assert all(a.findtext("variable") in ("true", "false") for a in attrs_el)
    assert code == "0101"
    assert datatypes == {"title": "string", "request_type": "singlevaluelist"}
    assert "complain" in values["request_type"] and orders == sorted(orders)


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_code_is_404_in_the_error_format(client: TestClient, world: World, fmt: str) -> None:
    """Errors: "404 - service_code not found" — answered as ``<errors><error><code>…<description>…``."""
    r = client.get(f"{BASE}/services/nope.{fmt}")
    assert r.status_code == 404
    [(code, description)] = _errors(r, fmt)
    assert code == 404 and "nope" in description


def test_a_city_can_rename_recode_and_hide_services(api: Api, client: TestClient, world: World, key: str) -> None:
    """The mapping table: a service per event class, renamed, re-coded or hidden by the city."""
    api.request("PUT", "/api/open311/services/0101", "admin", json={
        "service_code": "POTHOLE", "service_name": "井盖问题", "service_notice": "2个工作日内处置"})
    api.request("PUT", "/api/open311/services/9001", "admin", json={"hidden": True})
    api.request("PUT", "/api/open311/services/0201", "bob", json={"hidden": True}, status=403)
    items = {i["service_code"]: i for i in client.get(f"{BASE}/services.json").json()}
    assert "POTHOLE" in items and "0101" not in items and "9001" not in items and "0201" in items
    assert items["POTHOLE"]["service_name"] == "井盖问题"
    r = _post(client, "json", key, service_code="POTHOLE")
    assert r.status_code == 201, r.text
    assert r.json()[0]["service_notice"] == "2个工作日内处置"
    assert _post(client, "json", key, service_code="9001").status_code == 404
    # a code already in use is refused
    api.request("PUT", "/api/open311/services/0201", "admin", json={"service_code": "POTHOLE"}, status=422)


# --- POST requests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_creates_an_event_and_returns_its_id(client: TestClient, api: Api, world: World, key: str,
                                                  fmt: str) -> None:
    """POST Service Request: "Create service requests" … response "service_request_id: The unique ID of the
    service request created."; the request goes through intake (numbered, located, first timeline line)."""
    r = _post(client, fmt, key, **{"attribute[title]": "井盖破损", "attribute[request_type]": "complain",
                                   "first_name": "伟", "last_name": "张", "phone": "13900001111",
                                   "email": "zhang@example.cn"})
    assert r.status_code == 201, r.text
    if fmt == "json":
        [receipt] = r.json()
    else:
        root = _xml(r)
        assert root.tag == "service_requests"
        receipt = {c.tag: c.text for c in root.find("request") or []}
    number = receipt["service_request_id"]
    assert number and receipt["token"]
    event = api.get(f"/api/events/{number}", who="admin")
    assert event["source"] == "online_app" and event["state"] == "registered"
    assert event["title"] == "井盖破损" and event["event_class_code"] == "0101"
    assert event["area_chain"][-1] == "500111001001001"  # located in grid A-1
    timeline = api.get(f"/api/events/{number}/timeline", who="admin")
    assert [t["action"] for t in timeline] == ["event.register"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_without_or_with_a_bad_api_key_is_403(client: TestClient, world: World, fmt: str) -> None:
    """POST Service Request "Requires API Key? Yes"; Errors: "403 - Invalid api_key"."""
    for bad in (None, "szk_nothing_here"):
        r = _post(client, fmt, bad)
        assert r.status_code == 403
        [(code, _)] = _errors(r, fmt)
        assert code == 403


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_needs_a_location(client: TestClient, world: World, key: str, fmt: str) -> None:
    """"location: Either lat & long or address_string or address_id must be submitted" — 400 otherwise."""
    r = client.post(f"{BASE}/requests.{fmt}", data={"api_key": key, "service_code": "0101", "description": "x"})
    assert r.status_code == 400
    [(code, description)] = _errors(r, fmt)
    assert code == 400 and "address_string" in description
    # address_string alone is enough (the centre places it by hand)
    r = client.post(f"{BASE}/requests.{fmt}", data={"api_key": key, "service_code": "0101",
                                                     "address_string": "龙岗街道北山路12号", "description": "井盖破损"})
    assert r.status_code == 201, r.text
    # address_id names an area (grid, village …) of the area tree
    r = client.post(f"{BASE}/requests.{fmt}", data={"api_key": key, "service_code": "0101",
                                                     "address_id": "500111002001001", "description": "井盖破损"})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_rejects_bad_input_with_400_and_stores_nothing(client: TestClient, api: Api, world: World, key: str,
                                                            fmt: str) -> None:
    """"service_code … Required"; "attribute: An array of key/value responses based on Service Definitions"
    (an unknown attribute or value is refused); "description … limited to 4,000 characters"."""
    before = len(api.get("/api/events", who="admin")["items"])
    cases = [
        {"service_code": ""},
        {"service_code": "nope"},
        {"attribute[colour]": "red"},
        {"attribute[request_type]": "shout"},
        {"description": "长" * 4001},
        {"lat": "north"},
        {"lat": "29.7", "long": ""},
        {"phone": "not-a-phone"},
    ]
    for fields in cases:
        r = _post(client, fmt, key, **fields)
        assert r.status_code in (400, 404), (fields, r.text)
        assert _errors(r, fmt)
    assert len(api.get("/api/events", who="admin")["items"]) == before


def test_post_is_limited_to_the_key_sources_and_areas(api: Api, client: TestClient, world: World) -> None:
    """A key scoped to town A may not report in town B (403), like on the ordinary intake API."""
    made = api.post("/api/api-keys", "admin", {"name": "龙岗App", "sources": ["online_app"],
                                                "area_codes": ["500111001"], "write": True}, status=201)
    assert _post(client, "json", made["key"]).status_code == 201
    r = _post(client, "json", made["key"], lat=str(World.B1[1]), long=str(World.B1[0]))
    assert r.status_code == 403
    read_only = api.post("/api/api-keys", "admin", {"name": "大屏"}, status=201)
    assert _post(client, "json", read_only["key"]).status_code == 403


def test_post_retried_with_the_same_idempotency_key_creates_one_event(client: TestClient, api: Api, world: World,
                                                                       key: str) -> None:
    """A client that timed out resends with the same Idempotency-Key: same request id and token."""
    form = {"api_key": key, "service_code": "0101", "lat": str(World.A1[1]), "long": str(World.A1[0]),
            "description": "重发"}
    first = client.post(f"{BASE}/requests.json", data=form, headers={"Idempotency-Key": "app-1"}).json()[0]
    again = client.post(f"{BASE}/requests.json", data=form, headers={"Idempotency-Key": "app-1"}).json()[0]
    assert first == again
    assert api.get("/api/events", who="admin", params={"q": "重发"}) is not None


# --- GET requests --------------------------------------------------------------------------------------


def _ids(r: Any, fmt: str) -> list[str]:
    if fmt == "json":
        return [i["service_request_id"] for i in r.json()]
    root = _xml(r)
    assert root.tag == "service_requests"
    return [x.findtext("service_request_id") or "" for x in root.findall("request")]


def _age(session_factory: sessionmaker[Session], number: str, days: float) -> None:
    with session_factory() as s:
        s.execute(update(Event).where(Event.number == number)
                  .values(received_at=datetime.now(UTC) - timedelta(days=days)))
        s.commit()


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_filters(client: TestClient, api: Api, world: World, key: str, fmt: str,
                              session_factory: sessionmaker[Session]) -> None:
    """GET Service Requests: "service_request_id: To call multiple Service Requests at once, multiple
    service_request_id can be declared; comma delimited."; "service_code: Specify the service type by
    calling the unique ID(s) of the service_codes you wish to query … comma delimited"; "start_date …
    end_date … allows one to search for requests which have a requested_datetime that matches a given
    range"; "status: Allows for search of requests which have a specific status … Options: open, closed"."""
    a = _post(client, "json", key).json()[0]["service_request_id"]
    b = _post(client, "json", key, service_code="0201").json()[0]["service_request_id"]
    c = _post(client, "json", key).json()[0]["service_request_id"]
    old = _post(client, "json", key).json()[0]["service_request_id"]
    _age(session_factory, old, 100)
    api.post(f"/api/events/{c}/cancel", "alice", {"reason": "重复举报"})
    get = lambda **p: client.get(f"{BASE}/requests.{fmt}", params={"api_key": key, **p})  # noqa: E731

    # the default: the last 90 days, open and closed
    assert set(_ids(get(), fmt)) == {a, b, c}
    assert set(_ids(get(service_request_id=f"{a},{old}"), fmt)) == {a, old}
    # ids override every other argument
    assert set(_ids(get(service_request_id=a, service_code="0201"), fmt)) == {a}
    assert set(_ids(get(service_code="0201"), fmt)) == {b}
    assert set(_ids(get(service_code="0101,0201"), fmt)) == {a, b, c}
    assert set(_ids(get(status="closed"), fmt)) == {c}
    assert set(_ids(get(status="open"), fmt)) == {a, b}
    since = (datetime.now(UTC) - timedelta(days=120)).isoformat().replace("+00:00", "Z")
    until = (datetime.now(UTC) - timedelta(days=60)).isoformat().replace("+00:00", "Z")
    assert set(_ids(get(start_date=since, end_date=until), fmt)) == {old}
    for bad in ({"status": "pending"}, {"start_date": "yesterday"}, {"start_date": "2024-01-01T00:00:00"},
                {"service_code": "nope"}):
        r = get(**bad)
        assert r.status_code == 400, bad
        assert _errors(r, fmt)[0][0] == 400


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_one_request_has_the_specified_fields(client: TestClient, api: Api, world: World, key: str,
                                                  fmt: str) -> None:
    """GET Service Request: "Query the current status of an individual request" with service_request_id,
    status, status_notes, service_name, service_code, description, agency_responsible, service_notice,
    requested_datetime, updated_datetime, expected_datetime, address, address_id, zipcode, lat, long,
    media_url; dates "formatted in a common subset of ISO 8601 … Timezone information … must be included"."""
    number = _post(client, "json", key, media_url="https://img.example.cn/1.jpg").json()[0]["service_request_id"]
    api.post(f"/api/events/{number}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    r = client.get(f"{BASE}/requests/{quote(number)}.{fmt}", params={"api_key": key})
    assert r.status_code == 200, r.text
    if fmt == "json":
        [item] = r.json()
    else:
        root = _xml(r)
        assert root.tag == "service_requests"
        req = root.find("request")
        assert req is not None
        item = {c.tag: c.text for c in req}
    assert set(item) == {"service_request_id", "status", "status_notes", "service_name", "service_code",
                         "description", "agency_responsible", "service_notice", "requested_datetime",
                         "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
                         "long", "media_url"}
    assert item["status"] == "open" and item["status_notes"] == "已派遣，待签收"
    assert item["agency_responsible"] == "大足区城市管理局"
    assert item["media_url"] == "https://img.example.cn/1.jpg"
    requested = datetime.fromisoformat(item["requested_datetime"])
    assert requested.utcoffset() == timedelta(hours=8)
    assert item["expected_datetime"]  # the lead task's handling deadline
    assert float(item["lat"]) == pytest.approx(World.A1[1])


@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_outside_the_key_scope_are_not_found(client: TestClient, api: Api, world: World, key: str,
                                                      fmt: str) -> None:
    """Reads need a key (the requests are case files); a key sees only its areas — others are 404."""
    number = _post(client, "json", key, lat=str(World.B1[1]), long=str(World.B1[0])).json()[0]["service_request_id"]
    town_a = api.post("/api/api-keys", "admin", {"name": "龙岗", "area_codes": ["500111001"]}, status=201)["key"]
    assert client.get(f"{BASE}/requests/{number}.{fmt}", params={"api_key": town_a}).status_code == 404
    assert number not in _ids(client.get(f"{BASE}/requests.{fmt}", params={"api_key": town_a}), fmt)
    r = client.get(f"{BASE}/requests.{fmt}")
    assert r.status_code == 403 and _errors(r, fmt)[0][0] == 403


def test_status_mapping_covers_every_event_state() -> None:
    """"status: The current status of the service request. Options: open, closed" — every state maps."""
    from shuzhi.domain.events import EventState

    assert set(STATUS_OF_STATE) == set(EventState)
    assert {st for st, _ in STATUS_OF_STATE.values()} == {"open", "closed"}
    assert STATUS_OF_STATE[EventState.CLOSED][0] == "closed"
    assert STATUS_OF_STATE[EventState.REPORTED_BACK][0] == "open"


@pytest.mark.parametrize("fmt", FORMATS)
def test_jurisdiction_id_of_another_city_is_404(client: TestClient, world: World, fmt: str) -> None:
    """"jurisdiction_id … This is only required if the endpoint serves multiple jurisdictions"; Errors:
    "404 - jurisdiction_id not found"."""
    assert client.get(f"{BASE}/services.{fmt}", params={"jurisdiction_id": "shuzhi"}).status_code == 200
    r = client.get(f"{BASE}/services.{fmt}", params={"jurisdiction_id": "elsewhere.gov"})
    assert r.status_code == 404 and _errors(r, fmt)[0][0] == 404


# --- tokens --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_token_gives_the_request_id(client: TestClient, world: World, key: str, fmt: str) -> None:
    """GET request_id from a token: "Get the service_request_id from a temporary token" — response
    service_request_id and token."""
    receipt = _post(client, "json", key).json()[0]
    r = client.get(f"{BASE}/tokens/{receipt['token']}.{fmt}", params={"api_key": key})
    assert r.status_code == 200
    if fmt == "json":
        [item] = r.json()
    else:
        req = _xml(r).find("request")
        assert req is not None
        item = {c.tag: c.text for c in req}
    assert item == {"service_request_id": receipt["service_request_id"], "token": receipt["token"]}
    r = client.get(f"{BASE}/tokens/unknown.{fmt}", params={"api_key": key})
    assert r.status_code == 404 and _errors(r, fmt)[0][0] == 404


# --- servicerequestupdates ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_request_updates(client: TestClient, api: Api, world: World, key: str, fmt: str) -> None:
    """servicerequestupdates: GET returns request_update items (update_id, service_request_id, status,
    updated_datetime, description, media_url) between start_date and end_date; POST adds an update and
    returns its update_id."""
    number = _post(client, "json", key).json()[0]["service_request_id"]
    api.post(f"/api/events/{number}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    r = client.post(f"{BASE}/servicerequestupdates.{fmt}", data={
        "api_key": key, "service_request_id": number, "description": "井盖旁又塌了一块", "status": "open",
        "media_url": "https://img.example.cn/2.jpg"})
    assert r.status_code == 201, r.text
    posted = r.json()[0]["update_id"] if fmt == "json" else _xml(r).findtext("request_update/update_id")
    assert posted
    r = client.get(f"{BASE}/servicerequestupdates.{fmt}", params={"api_key": key})
    assert r.status_code == 200
    if fmt == "json":
        items = r.json()
    else:
        root = _xml(r)
        assert root.tag == "service_request_updates"
        items = [{c.tag: c.text for c in u} for u in root.findall("request_update")]
    mine = [u for u in items if u["service_request_id"] == number]
    assert [u["description"] for u in mine] == ["已受理，待派遣", "已派遣，待签收", "井盖旁又塌了一块"]
    assert mine[-1]["update_id"] == posted and mine[-1]["media_url"] == "https://img.example.cn/2.jpg"
    assert all(u["status"] == "open" for u in mine)
    # the comment changed nothing but the timeline
    assert api.get(f"/api/events/{number}", who="admin")["state"] == "dispatched"
    r = client.post(f"{BASE}/servicerequestupdates.{fmt}", data={"api_key": key, "service_request_id": number})
    assert r.status_code == 400
    r = client.post(f"{BASE}/servicerequestupdates.{fmt}", data={"api_key": key, "service_request_id": "x",
                                                                  "description": "?"})
    assert r.status_code == 404


def test_unknown_format_is_404(client: TestClient, world: World) -> None:
    """"The client can specify the desired format by appending the format name to the resource" — json or xml."""
    r = client.get(f"{BASE}/services.yaml")
    assert r.status_code == 404 and r.json()[0]["code"] == 404


# --- a client's walk -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_client_walk_discover_list_submit_read(client: TestClient, api: Api, world: World, key: str,
                                               fmt: str) -> None:
    """What an Open311 client does: discover the endpoint, list services, read a definition, submit,
    then follow the request's status until the centre closes it."""
    if fmt == "json":
        endpoint = client.get(f"{BASE}/discovery.json").json()["endpoints"][0]["url"]
    else:
        endpoint = _xml(client.get(f"{BASE}/discovery.xml")).findtext("endpoints/endpoint/url") or ""
    path = endpoint.split("testserver", 1)[-1]
    assert path == BASE
    listed = client.get(f"{path}/services.{fmt}")
    codes = ([s["service_code"] for s in listed.json()] if fmt == "json"
             else [s.findtext("service_code") for s in _xml(listed).findall("service")])
    code = next(c for c in codes if c == "0201")
    assert client.get(f"{path}/services/{code}.{fmt}").status_code == 200
    r = client.post(f"{path}/requests.{fmt}", data={
        "api_key": key, "service_code": code, "lat": World.A2[1], "long": World.A2[0],
        "description": "小区门口垃圾堆放三天无人清运", "attribute[request_type]": "complain"})
    assert r.status_code == 201
    number = r.json()[0]["service_request_id"] if fmt == "json" else _xml(r).findtext("request/service_request_id")

    def status() -> tuple[str, str]:
        got = client.get(f"{path}/requests/{number}.{fmt}", params={"api_key": key})
        if fmt == "json":
            item = got.json()[0]
            return item["status"], item["status_notes"]
        req = _xml(got).find("request")
        assert req is not None
        return req.findtext("status") or "", req.findtext("status_notes") or ""

    assert status() == ("open", "已受理，待派遣")
    event = api.post(f"/api/events/{number}/dispatch", "alice", {"units": [{"unit_code": "D500111-CGJ"}]})
    task = api.task(event, "D500111-CGJ")
    api.post(f"/api/events/{number}/tasks/{task['id']}/accept", "carol", {})
    assert status() == ("open", "处置中")
    api.post(f"/api/events/{number}/tasks/{task['id']}/report-back", "carol", {"result": "已清运"})
    api.post(f"/api/events/{number}/verify", "alice", {"passed": True})
    api.post(f"/api/events/{number}/close", "alice", {})
    assert status() == ("closed", "已结案")
