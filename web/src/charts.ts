// ECharts with only the pieces the dashboard draws, so the bundle stays small.
import { BarChart, HeatmapChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([
  LineChart,
  BarChart,
  HeatmapChart,
  GridComponent,
  TooltipComponent,
  LegendComponent,
  VisualMapComponent,
  CanvasRenderer,
]);

const charts = new WeakMap<HTMLElement, echarts.ECharts>();

export function chartIn(el: HTMLElement): echarts.ECharts {
  let c = charts.get(el);
  if (!c) {
    c = echarts.init(el);
    charts.set(el, c);
    new ResizeObserver(() => c!.resize()).observe(el);
  }
  return c;
}

export type { EChartsCoreOption as ChartOption } from 'echarts/core';
