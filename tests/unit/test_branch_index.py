"""The branch index answers exactly what scanning every step with ``related`` answers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shuzhi.domain.plans import BranchIndex, related

_segments = st.sampled_from(["500111", "001", "002", "0011", "01", "1"])
_paths = st.lists(_segments, min_size=0, max_size=4).map(lambda parts: "/" + "".join(p + "/" for p in parts))
_steps = st.lists(st.tuples(st.sampled_from("abcd"), _paths), max_size=40)


@given(_steps, st.lists(st.sampled_from("abcde"), max_size=3), _paths)
def test_the_index_finds_the_same_steps_as_a_scan(steps: list[tuple[str, str]], keys: list[str], path: str) -> None:
    items = list(enumerate(steps))  # (n, (key, path)): identity by position, as steps are objects
    index = BranchIndex(items, key=lambda it: it[1][0], path=lambda it: it[1][1])
    besides = items[0] if items else None
    found = index.related(keys, path, besides=besides)
    scanned = [it for it in items if it is not besides and it[1][0] in keys and related(it[1][1], path)]
    assert sorted(found) == sorted(scanned)
    assert len(found) == len({id(it) for it in found})  # never the same step twice


def test_a_town_step_waits_for_its_own_centre_and_the_district_not_another_town() -> None:
    steps = [("notify", "/500111/"), ("notify", "/500111/001/"), ("notify", "/500111/002/"),
             ("patrol", "/500111/001/01/")]
    index = BranchIndex(steps, key=lambda s: s[0], path=lambda s: s[1])
    assert index.related(["notify"], "/500111/001/01/") == [("notify", "/500111/"), ("notify", "/500111/001/")]
    assert index.related(["patrol"], "/500111/") == [("patrol", "/500111/001/01/")]
    assert index.related(["missing"], "/500111/") == []
