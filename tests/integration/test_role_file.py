"""An installation's role file decides what a role may do, through the API as everywhere else.

alice is the district dispatcher, admin the administrator (tests/factories.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.config import Settings
from shuzhi.domain import permissions as perm
from shuzhi.entrypoints.api.app import create_app
from shuzhi.services.actors import forget_people
from tests.factories import World
from tests.integration.conftest import Api


@pytest.fixture
def default_table_after() -> Iterator[None]:
    yield
    perm.use_role_table(perm.DEFAULT_ROLE_PERMISSIONS)
    forget_people()


def test_a_role_file_withdraws_a_permission_from_a_role(session_factory: sessionmaker[Session], world: World,
                                                        tmp_path: Path, default_table_after: None) -> None:
    roles = tmp_path / "roles.toml"
    roles.write_text('[roles.dispatcher]\nremove = ["data.export"]\n', encoding="utf-8")
    forget_people()
    app = create_app(session_factory, Settings(data_dir=tmp_path, database_url="sqlite://",
                                               role_permissions_file=roles))
    with TestClient(app) as client:
        api = Api(client)
        refused = api.get("/api/bulk/events/export", who="alice", status=403)
        assert "data.export" in refused["detail"]
        api.get("/api/bulk/events/export", who="admin")
