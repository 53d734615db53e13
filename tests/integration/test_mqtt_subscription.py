"""The topic filter of the MQTT subscriber: plain, or a member of a shared subscription; and the
``ingest-mqtt`` options that cannot work together, refused before anything connects."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from shuzhi.adapters.mqtt import subscription
from shuzhi.entrypoints.cli import app
from shuzhi.entrypoints.ingest_group import member_ids


def test_a_plain_subscriber_takes_everything_under_its_root() -> None:
    assert subscription("shuzhi/readings") == "shuzhi/readings/#"


def test_a_group_member_subscribes_to_the_shared_filter() -> None:
    assert subscription("site-a/shuzhi/readings", "ingest") == "$share/ingest/site-a/shuzhi/readings/#"


@pytest.mark.parametrize("group", ["a/b", "a+", "#", "$share"])
def test_a_group_name_that_mqtt_cannot_carry_is_refused(group: str) -> None:
    with pytest.raises(ValueError, match="group name"):
        subscription("shuzhi/readings", group)


def test_members_have_stable_numbered_client_ids() -> None:
    assert member_ids("shuzhi-ingest", 3) == ["shuzhi-ingest-1", "shuzhi-ingest-2", "shuzhi-ingest-3"]


@pytest.mark.parametrize(("args", "field"), [
    (["--group", "a/b"], "--group"),
    (["--processes", "0"], "--processes"),
    (["--leave"], "--leave"),
    (["--leave", "--processes", "2"], "--leave"),
])
def test_ingest_mqtt_refuses_options_that_cannot_work(args: list[str], field: str) -> None:
    result = CliRunner().invoke(app, ["ingest-mqtt", "--database-url", "sqlite:///:memory:", *args])
    assert result.exit_code == 2
    assert field in result.output
