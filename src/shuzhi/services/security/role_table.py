"""The installation's role → permission table: read from its file at start-up, checked, put in force.

The file (``SHUZHI_ROLE_PERMISSIONS_FILE``, TOML or JSON by its suffix) amends the default table of
:mod:`shuzhi.domain.permissions`; a file that cannot be read or names an unknown role or permission
stops the process at start with a message naming each one (docs/operations.md, "Roles and permissions").
"""

from __future__ import annotations

import json
import logging
import tomllib
from pathlib import Path
from typing import Any

from shuzhi.domain import permissions as perm

log = logging.getLogger(__name__)


class RoleTableError(RuntimeError):
    """The role file is unusable; the message names the file and every problem in it."""


def read_role_file(path: Path) -> dict[perm.Role, frozenset[str]]:
    """The checked table of the file at ``path`` (not yet in force)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RoleTableError(f"role file {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        doc: Any = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise RoleTableError(f"role file {path}: not valid {path.suffix.lstrip('.') or 'TOML'}: {exc}") from None
    if not isinstance(doc, dict):
        raise RoleTableError(f"role file {path}: must hold a table with 'roles'")
    try:
        return perm.role_table(doc)
    except perm.InvalidRoleTable as exc:
        raise RoleTableError(f"role file {path}: " + "; ".join(exc.problems)) from None


def configure(path: Path | None) -> None:
    """Put the file's table in force; without a file, the default."""
    if path is None:
        perm.use_role_table(perm.DEFAULT_ROLE_PERMISSIONS)
        return
    table = read_role_file(path)
    for role, perms in table.items():
        default = perm.DEFAULT_ROLE_PERMISSIONS[role]
        if perms != default:
            log.info("role %s: %s granted, %s withdrawn by %s", role.value, sorted(perms - default) or "none",
                     sorted(default - perms) or "none", path)
    perm.use_role_table(table)
