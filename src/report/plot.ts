/**
 * Plots as SVG, rendered headless with Vega-Lite (declarative specs, no browser, no native canvas): line charts for
 * training curves and result sweeps.
 */
import { compile, type TopLevelSpec } from 'vega-lite';
import { parse, View } from 'vega';
import { writeFileAtomic } from '../formats/atomic.js';

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
export async function writeTrainingCurves(path: string, history: { epoch: number; trainLoss: number; testLoss: number; trainAccuracy: number; testAccuracy: number; valLoss?: number; valAccuracy?: number }[], title = ''): Promise<void> {
  type Key = 'trainLoss' | 'testLoss' | 'trainAccuracy' | 'testAccuracy' | 'valLoss' | 'valAccuracy';
  const pts = (k: Key) => history.filter((h) => h[k] !== undefined).map((h) => ({ x: h.epoch, y: h[k]! }));
  const withVal = (a: Key, b: Key, c: Key) => [{ name: 'train', points: pts(a) }, ...(pts(b).length ? [{ name: 'validation', points: pts(b) }] : []), { name: 'test', points: pts(c) }];
  const acc = await lineChart(withVal('trainAccuracy', 'valAccuracy', 'testAccuracy'),
    { title: `${title} accuracy`.trim(), xLabel: 'epoch', yLabel: 'accuracy', percent: true, height: 220 });
  const loss = await lineChart(withVal('trainLoss', 'valLoss', 'testLoss'),
    { title: `${title} loss`.trim(), xLabel: 'epoch', yLabel: 'loss (test/validation: CE of the mean output)', yScale: 'log', height: 220 });
  writeFileAtomic(path, stackSvgs([acc, loss]));
}

/**
 * Writes the Dspike temperature search's log as one SVG, atomically: the chosen b per epoch, and the cosine of each
 * candidate's surrogate gradient with the finite-difference gradient.
 * @param history records with dspike_b, cos_minus, cos_mid, cos_plus (epochs without a search are skipped)
 */
export async function writeDspikePlot(path: string, history: { epoch: number; [k: string]: number | undefined }[], title = ''): Promise<void> {
  const pts = (k: string) => history.filter((h) => Number.isFinite(h[k])).map((h) => ({ x: h.epoch, y: h[k]! }));
  const b = await lineChart([{ name: 'b', points: pts('dspike_b') }], { title: `${title} Dspike temperature b (chosen after the epoch)`.trim(), xLabel: 'epoch', yLabel: 'b', height: 200 });
  const cos = await lineChart([{ name: 'b − Δb', points: pts('cos_minus') }, { name: 'b', points: pts('cos_mid') }, { name: 'b + Δb', points: pts('cos_plus') }],
    { title: 'cosine of the surrogate gradient with the finite-difference gradient', xLabel: 'epoch', yLabel: 'cosine', height: 200 });
  writeFileAtomic(path, stackSvgs([b, cos]));
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
