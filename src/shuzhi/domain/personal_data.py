"""Masking a reporter's personal data (name, phone, ID number) for everyone who does not reveal it.

China's Personal Information Protection Law (个人信息保护法, art. 51) asks for de-identification
where the full data is not needed; the display rules follow common practice for mainland data
(GB/T 35273-2020 §A: keep the first 3 and last 4 digits of a mobile number, the surname of a name,
the region (6) and last 4 characters of an ID number).
"""

from __future__ import annotations

import re
from typing import overload


def mask_phone(phone: str | None) -> str | None:
    """``13812345678`` → ``138****5678``; short numbers keep only their last 2 digits."""
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) >= 11:
        return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
    if len(digits) > 4:
        return f"{'*' * (len(digits) - 2)}{digits[-2:]}"
    return "*" * len(digits)


def mask_name(name: str | None) -> str | None:
    """``张三`` → ``张*``, ``欧阳娜娜`` → ``欧***``: only the first character stays."""
    if not name:
        return name
    name = name.strip()
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_id_number(id_number: str | None) -> str | None:
    """``500111199001011234`` → ``5001**********1234``: region prefix and last 4 characters stay."""
    if not id_number:
        return id_number
    value = id_number.strip()
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:4]}{'*' * (len(value) - 8)}{value[-4:]}"


# A mainland mobile (1[3-9] + 9 digits), optionally written +86 / 86 first; an ID number (18 characters,
# the last may be X; or the old 15 digits); a landline with area code (010-12345678, 023 6789 1234).
# Digits on either side mean it is part of a longer number (a case number, an amount) and is left alone.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?(1[3-9]\d[ -]?\d{4}[ -]?\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}[ -]?\d{7,8})(?!\d)")


@overload
def mask_text(text: str) -> str: ...
@overload
def mask_text(text: None) -> None: ...
def mask_text(text: str | None) -> str | None:
    """Free text (an event's description) with phone and ID numbers masked as the fields are.

    Reporters often put "请回电 13812345678" or their ID number in the description itself; masking
    only the reporter fields would leave them in plain sight.
    """
    if not text:
        return text

    def digits_only(m: re.Match[str]) -> str:
        return re.sub(r"[ -]", "", m.group(1))

    out = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(1)) or "", text)
    out = _MOBILE.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + (mask_phone(digits_only(m)) or ""), out)
    return _LANDLINE.sub(lambda m: mask_phone(digits_only(m)) or "", out)
