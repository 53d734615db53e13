"""Build the hotline evaluation files from their hand-written sources (``src/*.tsv``).

- ``hotline_eval.jsonl``: one ``{"text", "class_code"}`` per line from ``src/eval_*.tsv`` (class, text).
- ``hotline_pairs.jsonl``: ``{"a", "b", "duplicate"}``. The positives are hand-written pairs of two
  wordings of one problem at one place (``src/pairs_pos_*.tsv``: class, place, text a, text b). The
  negatives are the hard cases the issue names, drawn from those same texts: the same class at another
  place, and another problem at the same place (plus a few unrelated pairs).

None of these texts comes from the demo's templates, and none is used for training.
Run: ``python benchmarks/data/build_hotline_data.py`` (deterministic).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
    rows = []
    for path in sorted((HERE / "src").glob("eval_*.tsv")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            code, text = line.split("\t")
            rows.append({"text": text.strip(), "class_code": code.strip(), "ref": f"{path.stem}:{n}"})
    with (HERE / "hotline_eval.jsonl").open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

    incidents = []
    for path in sorted((HERE / "src").glob("pairs_pos_*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                code, place, a, b = line.split("\t")
                incidents.append((code, place, a, b))
    rng = random.Random(21)
    pairs = [{"a": a, "b": b, "duplicate": True, "kind": "same problem, same place"}
             for _, _, a, b in incidents]
    same_class = [(i, j) for i in range(len(incidents)) for j in range(i + 1, len(incidents))
                  if incidents[i][0] == incidents[j][0] and incidents[i][1] != incidents[j][1]]
    same_place = [(i, j) for i in range(len(incidents)) for j in range(i + 1, len(incidents))
                  if incidents[i][1] == incidents[j][1] and incidents[i][0] != incidents[j][0]]
    other = [(i, j) for i in range(len(incidents)) for j in range(i + 1, len(incidents))
             if incidents[i][1] != incidents[j][1] and incidents[i][0] != incidents[j][0]]
    for kind, pool, count in (("same class, other place", same_class, 110),
                              ("same place, other problem", same_place, 110),
                              ("unrelated", other, 30)):
        for i, j in rng.sample(pool, min(count, len(pool))):
            pairs.append({"a": incidents[i][2 + rng.randrange(2)], "b": incidents[j][2 + rng.randrange(2)],
                          "duplicate": False, "kind": kind})
    rng.shuffle(pairs)
    with (HERE / "hotline_pairs.jsonl").open("w", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    print(f"{len(rows)} texts, {len(pairs)} pairs ({len(incidents)} duplicates)")


if __name__ == "__main__":
    main()
