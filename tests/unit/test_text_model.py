"""The hotline text model trains and predicts offline, explains itself and survives storage."""

from __future__ import annotations

import pytest

from shuzhi.adapters.text_model import TextModel, sha256_of, tokens

TEXTS = {"lamp": ["路灯不亮", "北环路路灯坏了", "一排路灯都熄了", "路灯晚上不亮黑漆漆"],
         "pipe": ["水管爆了", "自来水管破裂在喷水", "地下水管爆裂冒水", "供水管破了到处是水"],
         "trash": ["垃圾没人收", "到处是垃圾", "路边垃圾堆成山", "有人乱丢垃圾"]}


@pytest.fixture(scope="module")
def model() -> TextModel:
    texts = [t for ts in TEXTS.values() for t in ts]
    labels = [label for label, ts in TEXTS.items() for _ in ts]
    return TextModel.train(texts, labels)


def test_it_predicts_with_probabilities_and_the_words_behind_them(model: TextModel) -> None:
    top = model.top("五星大道的路灯不亮了", k=3)
    assert top[0].code == "lamp" and top[0].score > top[1].score >= top[2].score
    assert sum(model.probabilities(["五星大道的路灯不亮了"])[0]) == pytest.approx(1.0)
    _probs, _, explained = model.explain("五星大道的路灯不亮了")
    assert explained[0][0].code == "lamp" and "路灯" in "".join(explained[0][1])
    assert model.drivers("五星大道的路灯不亮了", "nothing") == []


def test_boilerplate_is_not_a_reason() -> None:
    assert "市民" not in tokens("市民来电反映：路灯不亮") and "路灯" in tokens("市民来电反映：路灯不亮")


def test_similar_texts_are_closer_than_different_ones(model: TextModel) -> None:
    sims = model.similarity("北环路路灯坏了", ["北环路的路灯坏了好几天", "垃圾没人收"])
    assert sims[0] > sims[1]


def test_it_round_trips_through_bytes_and_refuses_a_changed_blob(model: TextModel) -> None:
    blob = model.to_bytes()
    again = TextModel.from_bytes(blob, sha256_of(blob))
    assert again.top("水管爆了")[0].code == "pipe"
    with pytest.raises(ValueError, match="SHA-256"):
        TextModel.from_bytes(blob, "0" * 64)


def test_training_needs_two_classes() -> None:
    with pytest.raises(ValueError):
        TextModel.train(["路灯不亮", "路灯坏了"], ["lamp", "lamp"])
    with pytest.raises(ValueError):
        TextModel.train([], [])
