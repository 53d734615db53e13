"""Where the sign-in page may send a person afterwards: a path on this site, nothing else.

``/login?next=…`` is a link anyone can craft. Browsers read ``//evil.example``, ``/\\evil.example``
and ``/\t/evil.example`` (tabs and newlines are dropped from URLs) as another host, and
``javascript:`` as code; an open redirect on the sign-in page is the classic phishing aid. The same
rule is applied again in ``static/js/login.js`` (``safeNext``).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

HOME = "/"
# Any control character (tab, CR, LF … and DEL) or a backslash, anywhere.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(value: str | None) -> str:
    """``value`` when it is a same-origin path (``/events?state=new``), else ``/``.

    Refused: anything not starting with a single ``/``; ``//`` or ``/\\`` (another host); control
    characters or backslashes, also when percent-encoded; the sign-in page itself (a loop).
    """
    if not value or len(value) > 2000:
        return HOME
    for candidate in (value, unquote(value)):
        if not candidate.startswith("/") or candidate.startswith("//") or _FORBIDDEN.search(candidate):
            return HOME
    if value == "/login" or value.startswith(("/login?", "/login/", "/login#")):
        return HOME
    return value
