"""Import every module that registers hooks (:mod:`shuzhi.services.hooks`), once, at start-up.

The API app factory and the CLI/worker import this module; each part adds one import line here.
"""

from __future__ import annotations

from shuzhi.services import cockpit_counters  # noqa: F401  (active warnings and running plans on the cockpit)
from shuzhi.services.plans import triggers  # noqa: F401  (warning, event and task hooks that start plans)
from shuzhi.services.sensing import warnings  # noqa: F401  (threshold evaluation on readings)
