// The ECharts the pages load: echarts/core with only the charts and components they draw.
//
// `make setup` bundles this file with esbuild (both pinned in package-lock.json) into
// static/vendor/echarts.min.js, a browser global `echarts` like the full build's. The full build is
// 1 MB that the browser must parse before the cockpit can draw; this one is about a third of it.
// A page that needs another chart or component adds it here — ECharts says in the console which
// one it misses ("… is used but not imported").
import { use } from "echarts/core";
import { BarChart, EffectScatterChart, LineChart, MapChart, PieChart, ScatterChart } from "echarts/charts";
import {
  GeoComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  VisualMapComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

use([
  MapChart, ScatterChart, EffectScatterChart, LineChart, BarChart, PieChart,
  GeoComponent, GridComponent, TooltipComponent, VisualMapComponent, LegendComponent, MarkLineComponent,
  CanvasRenderer,
]);

export * from "echarts/core";
