/**
 * Plots as SVG, rendered headless with Vega-Lite (declarative specs, no browser, no native canvas): line charts for
 * training curves and result sweeps.
 */
import { compile, type TopLevelSpec } from 'vega-lite';
import { parse, View } from 'vega';
import { writeFileAtomic } from '../io/atomic.js';

/** One line of a chart. */
export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

/** Options of lineChart. */
export interface LineChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Format the y axis as a percentage (values in [0, 1]). */
  percent?: boolean;
  /** y-axis scale: 'linear' (default) or 'log'. */
  yScale?: 'linear' | 'log';
  /** x-axis scale: 'linear' (default) or 'log' (base 2, for time steps that double). */
  xScale?: 'linear' | 'log';
}

/**
 * Renders line series to an SVG document.
 * @returns the SVG text
 * @example
 * const svg = await lineChart([{ name: 'test', points: [{ x: 1, y: 0.9 }] }], { xLabel: 'epoch' });
 */
export async function lineChart(series: Series[], opts: LineChartOptions = {}): Promise<string> {
  const values = series.flatMap((s) => s.points.map((p) => ({ series: s.name, x: p.x, y: p.y })));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? 480,
    height: opts.height ?? 280,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: opts.xLabel ?? 'x', ...(opts.xScale === 'log' ? { scale: { type: 'log', base: 2 } } : {}) },
      y: {
        field: 'y', type: 'quantitative', title: opts.yLabel ?? 'y', scale: opts.yScale === 'log' ? { type: 'log' } : { zero: false },
        ...(opts.percent ? { axis: { format: '.1%' } } : {}),
      },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/**
 * Renders grouped bars (one group per category, one bar per series) to an SVG document.
 * @param rows category, series and value of each bar
 * @returns the SVG text
 * @example
 * await barChart([{ category: 'IF fwd', series: 'snnkit', value: 15 }], { yLabel: 'ms' });
 */
export async function barChart(rows: { category: string; series: string; value: number }[], opts: LineChartOptions = {}): Promise<string> {
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? 480,
    height: opts.height ?? 260,
    data: { values: rows },
    mark: 'bar',
    encoding: {
      x: { field: 'category', type: 'nominal', title: opts.xLabel ?? null, sort: null, axis: { labelAngle: 0 } },
      xOffset: { field: 'series' },
      y: { field: 'value', type: 'quantitative', title: opts.yLabel ?? 'value', ...(opts.yScale === 'log' ? { scale: { type: 'log' } } : {}) },
      color: { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 0, orient: 'bottom' } },
    },
  };
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/**
 * Writes the training curves of an epoch history (loss and accuracy, train and test) as one SVG, atomically.
 * @param path the .svg file
 * @param history per-epoch records with trainLoss, testLoss, trainAccuracy, testAccuracy
 */
export async function writeTrainingCurves(path: string, history: { epoch: number; trainLoss: number; testLoss: number; trainAccuracy: number; testAccuracy: number }[], title = ''): Promise<void> {
  const pts = (k: 'trainLoss' | 'testLoss' | 'trainAccuracy' | 'testAccuracy') => history.map((h) => ({ x: h.epoch, y: h[k] }));
  const acc = await lineChart([{ name: 'train', points: pts('trainAccuracy') }, { name: 'test', points: pts('testAccuracy') }],
    { title: `${title} accuracy`.trim(), xLabel: 'epoch', yLabel: 'accuracy', percent: true, height: 220 });
  const loss = await lineChart([{ name: 'train', points: pts('trainLoss') }, { name: 'test', points: pts('testLoss') }],
    { title: `${title} loss`.trim(), xLabel: 'epoch', yLabel: 'cross-entropy', yScale: 'log', height: 220 });
  writeFileAtomic(path, stackSvgs([acc, loss]));
}

/** Places SVG documents one above the other in a single SVG. */
function stackSvgs(svgs: string[]): string {
  let y = 0, width = 0;
  const parts: string[] = [];
  for (const s of svgs) {
    const w = Number(/width="([\d.]+)"/.exec(s)?.[1] ?? 0), h = Number(/height="([\d.]+)"/.exec(s)?.[1] ?? 0);
    parts.push(`<g transform="translate(0,${y})">${s.replace(/^<\?xml[^>]*>/, '')}</g>`);
    y += h;
    width = Math.max(width, w);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}">${parts.join('')}</svg>\n`;
}
