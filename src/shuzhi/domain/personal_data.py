"""Masking a reporter's personal data (name, phone, ID number) for everyone who does not reveal it.

China's Personal Information Protection Law (个人信息保护法, art. 51) asks for de-identification
where the full data is not needed; the display rules follow common practice for mainland data
(GB/T 35273-2020 §A: keep the first 3 and last 4 digits of a mobile number, the surname of a name,
the region (6) and last 4 characters of an ID number).
"""

from __future__ import annotations


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
