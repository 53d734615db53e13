"""Import every module that registers hooks (:mod:`shuzhi.services.hooks`), once, at start-up.

The API app factory and the CLI/worker import this module; each part adds one import line here.
"""

from __future__ import annotations

from shuzhi.services import cockpit_counters  # noqa: F401  (active warnings and running plans on the cockpit)
from shuzhi.services import duty_desk as _duty_desk  # noqa: F401  (the on-post check sweep job)
from shuzhi.services.hotline import hooks as _hotline_hooks  # noqa: F401  (suggestions at intake, retraining)
from shuzhi.services.notices import hooks as notice_hooks  # noqa: F401  (red warnings start chains; sender jobs)
from shuzhi.services.plans import triggers  # noqa: F401  (warning, event and task hooks that start plans)
from shuzhi.services.sensing import warnings  # noqa: F401  (threshold evaluation on readings)
from shuzhi.services.window import cases as _service_cases  # noqa: F401  (a case's stages and completion)
from shuzhi.services.window import ratings as _service_ratings  # noqa: F401  (差评 deadlines job)
from shuzhi.services.window import whistle as _service_whistle  # noqa: F401  (officer told of each answer)
