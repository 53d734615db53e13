"""Masking rules for a reporter's name, phone and ID number."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shuzhi.domain.personal_data import mask_id_number, mask_name, mask_phone


@pytest.mark.parametrize(("raw", "masked"), [
    ("13812345678", "138****5678"), ("+8613812345678", "+86*******5678"), ("023-43721234", "023*****1234"),
    ("12345", "***45"), ("110", "***"), (None, None), ("", ""),
])
def test_phone(raw: str | None, masked: str | None) -> None:
    assert mask_phone(raw) == masked


@pytest.mark.parametrize(("raw", "masked"), [("张三", "张*"), ("欧阳娜娜", "欧***"), ("李", "李*"), (None, None)])
def test_name(raw: str | None, masked: str | None) -> None:
    assert mask_name(raw) == masked


@pytest.mark.parametrize(("raw", "masked"), [
    ("500111199001011234", "5001**********1234"), ("50011119900101123X", "5001**********123X"), ("1234", "****"),
])
def test_id_number(raw: str, masked: str) -> None:
    assert mask_id_number(raw) == masked


@given(st.text(alphabet="0123456789", min_size=11, max_size=20))
def test_a_masked_phone_keeps_its_length_and_hides_the_middle(phone: str) -> None:
    masked = mask_phone(phone)
    assert masked is not None and len(masked) == len(phone)
    assert masked[:3] == phone[:3] and masked[-4:] == phone[-4:] and set(masked[3:-4]) == {"*"}
