"""Import once at start-up: every module that registers a hook (see :mod:`shuzhi.services.hooks`)."""

from __future__ import annotations

from shuzhi.services import plans  # noqa: F401 - registers the warning, event and task hooks of plans
