"""An installation's role → permission table: a file over the default, checked when the process starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shuzhi.config import Settings
from shuzhi.domain import permissions as perm
from shuzhi.services.bootstrap import bootstrap
from shuzhi.services.security import role_table

R = perm.Role


@pytest.fixture(autouse=True)
def default_table() -> Iterator[None]:
    yield
    perm.use_role_table(perm.DEFAULT_ROLE_PERMISSIONS)


def test_roles_the_document_does_not_name_keep_their_default() -> None:
    table = perm.role_table({"roles": {"handler": {"add": [perm.EXPORT]}}})
    assert table[R.HANDLER] == perm.DEFAULT_ROLE_PERMISSIONS[R.HANDLER] | {perm.EXPORT}
    assert {r: p for r, p in table.items() if r is not R.HANDLER} == {
        r: p for r, p in perm.DEFAULT_ROLE_PERMISSIONS.items() if r is not R.HANDLER}


def test_a_list_replaces_a_role_s_set_and_remove_withdraws() -> None:
    table = perm.role_table({"roles": {"integrator": [perm.EVENT_READ],
                                       "leader": {"remove": [perm.EXPORT, perm.EVENT_URGE]}}})
    assert table[R.INTEGRATOR] == {perm.EVENT_READ}
    assert perm.EXPORT not in table[R.LEADER] and perm.EVENT_URGE not in table[R.LEADER]
    assert perm.PLAN_ACTIVATE in table[R.LEADER]


def test_every_unknown_role_and_permission_is_named() -> None:
    with pytest.raises(perm.InvalidRoleTable) as info:
        perm.role_table({"roles": {"mayor": ["event.read"], "handler": {"add": ["event.dispach"], "grant": []},
                                   "leader": "all"}, "groups": {}})
    text = str(info.value)
    for name in ("'mayor'", "'event.dispach'", "roles.handler.add", "'grant'", "roles.leader", "groups"):
        assert name in text, name
    assert len(info.value.problems) == 5


def test_every_permission_the_product_names_is_known() -> None:
    names = {v for k, v in vars(perm).items() if k.isupper() and isinstance(v, str) and "." in v}
    assert names and names <= perm.KNOWN_PERMISSIONS


def test_a_toml_file_is_put_in_force_at_start(tmp_path: Path) -> None:
    path = tmp_path / "roles.toml"
    path.write_text('[roles.handler]\nadd = ["data.export"]\n\n[roles]\nintegrator = ["event.read"]\n',
                    encoding="utf-8")
    bootstrap(Settings(data_dir=tmp_path, role_permissions_file=path))
    assert perm.EXPORT in perm.permissions_of("handler")
    assert perm.permissions_of("integrator") == {perm.EVENT_READ}
    assert perm.permissions_of("leader") == perm.DEFAULT_ROLE_PERMISSIONS[R.LEADER]


def test_a_json_file_works_too_and_a_bad_one_stops_the_start_naming_the_file(tmp_path: Path) -> None:
    good = tmp_path / "roles.json"
    good.write_text('{"roles": {"auditor": {"remove": ["audit.read"]}}}', encoding="utf-8")
    role_table.configure(good)
    assert perm.AUDIT_READ not in perm.permissions_of("auditor")
    bad = tmp_path / "bad.toml"
    bad.write_text('[roles]\nhandler = ["task.handle", "task.hand"]\n', encoding="utf-8")
    with pytest.raises(role_table.RoleTableError, match=r"bad\.toml: roles\.handler: unknown permission 'task\.hand'"):
        bootstrap(Settings(data_dir=tmp_path, role_permissions_file=bad))
    assert perm.AUDIT_READ not in perm.permissions_of("auditor")  # a refused file changes nothing
    with pytest.raises(role_table.RoleTableError, match="cannot be read"):
        role_table.configure(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[roles\n", encoding="utf-8")
    with pytest.raises(role_table.RoleTableError, match="not valid toml"):
        role_table.configure(broken)
