"""Report charts are drawn safely from several threads at once (the worker and API threads both make
reports): each drawing owns its Figure and Agg canvas, and pyplot's global state is never touched.
A chart with the same data is drawn once and kept (a bulletin's HTML and Word file, every peer's
download): the kept picture is the one drawn."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from shuzhi.adapters import report_files as rf
from shuzhi.adapters.report_files import Chart, chart_png, draw_chart

CHARTS = [
    Chart("各镇街得分", "bar", [f"镇街{i}" for i in range(27)], {"得分": [60 + i for i in range(27)]},
          colours=["green", "blue", "yellow", "orange", "red"] * 5 + ["grey", "grey"]),
    Chart("每日趋势", "line", [f"6月{d}日" for d in range(1, 31)],
          {"受理": [float(d * 3 % 17) for d in range(30)], "结案": [float(d * 5 % 13) for d in range(30)]}),
    Chart("来源", "pie", ["热线", "网格巡查", "感知预警"], {"数量": [5.0, 3.0, 2.0]}),
    Chart("部门", "bar", ["城管局", "水务公司"], {"按时": [3.0, 4.0], "超期": [1.0, 0.0]}),
]


def test_charts_drawn_in_parallel_equal_charts_drawn_one_by_one() -> None:
    alone = [draw_chart(c) for c in CHARTS]
    assert all(png.startswith(b"\x89PNG") for png in alone)
    assert len(set(alone)) == len(CHARTS)  # four different pictures, so a mix-up would show
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(draw_chart, CHARTS * 6))
    assert together == alone * 6


def test_a_chart_with_the_same_data_is_drawn_once_and_is_the_picture_drawn() -> None:
    rf.clear_charts()
    first = [chart_png(c) for c in CHARTS]
    assert first == [draw_chart(c) for c in CHARTS]
    again = Chart("各镇街得分", "bar", [f"镇街{i}" for i in range(27)], {"得分": [60 + i for i in range(27)]},
                  colours=["green", "blue", "yellow", "orange", "red"] * 5 + ["grey", "grey"])
    assert chart_png(again) is first[0]  # an equal chart, another object: the kept picture
    other = Chart("各镇街得分", "bar", [f"镇街{i}" for i in range(27)], {"得分": [61 + i for i in range(27)]},
                  colours=again.colours)
    assert chart_png(other) != first[0]  # other data, another picture
    info = rf._kept_png.cache_info()
    assert (info.hits, info.misses) == (1, 5)
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(chart_png, CHARTS * 3)) == first * 3


def test_drawing_a_chart_never_imports_pyplot() -> None:
    code = ("import sys; from shuzhi.adapters.report_files import Chart, chart_png, draw_chart; "
            "chart_png(Chart('t', 'bar', ['a'], {'n': [1.0]})); draw_chart(Chart('u', 'pie', ['a'], {'n': [1.0]})); "
            "print('matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"
