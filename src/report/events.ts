/**
 * Pictures of event data and of spikes, as PNG (sharp): a grid of event frames (one row a sample, one column a frame;
 * ON events red, OFF events blue, brighter for more events) and a grid of spike maps (one row a channel, one column a
 * time step; white where the neuron fired). Pixels are enlarged without smoothing so single events stay visible.
 */
import sharp from 'sharp';
import { invalidArg } from '../errors.js';
import { writeFileAtomic } from '../formats/atomic.js';

/** Options of the grids. */
export interface GridOptions {
  /** Screen pixels per sensor pixel (default 4). */
  scale?: number;
  /** Pixels between cells (default 2, drawn grey). */
  gap?: number;
}

/** Paints cells into an RGB canvas: cell(r, c) returns the cell's RGB bytes (h × w × 3) or undefined for an empty one. */
async function grid(rows: number, cols: number, h: number, w: number, cell: (r: number, c: number) => Uint8Array | undefined, o: GridOptions): Promise<Buffer> {
  const scale = o.scale ?? 4, gap = o.gap ?? 2;
  if (!(Number.isInteger(scale) && scale >= 1)) throw invalidArg('grid', 'scale', 'a positive integer', scale);
  if (!(Number.isInteger(gap) && gap >= 0)) throw invalidArg('grid', 'gap', 'an integer >= 0', gap);
  const W = cols * (w * scale + gap) + gap, H = rows * (h * scale + gap) + gap;
  const img = Buffer.alloc(W * H * 3, 96);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const rgb = cell(r, c);
      if (!rgb) continue;
      const x0 = gap + c * (w * scale + gap), y0 = gap + r * (h * scale + gap);
      for (let y = 0; y < h * scale; y++) {
        for (let x = 0; x < w * scale; x++) {
          const src = (Math.floor(y / scale) * w + Math.floor(x / scale)) * 3, dst = ((y0 + y) * W + x0 + x) * 3;
          img[dst] = rgb[src]!; img[dst + 1] = rgb[src + 1]!; img[dst + 2] = rgb[src + 2]!;
        }
      }
    }
  }
  return sharp(img, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
}

/**
 * Event frames as a PNG grid: row i is samples[i], column f its frame f; ON counts in red, OFF in blue, each sample
 * scaled to its own largest count.
 * @param samples each [2T, H, W] event counts, frame-major (channel 2f + p, p = 1 ON), as the nmnist dataset holds them
 * @param shape [T, H, W]
 * @returns the PNG bytes
 * @throws SnnkitError when a sample's length is not 2·T·H·W
 * @example
 * fs.writeFileSync('frames.png', await report.eventFramesPng([ds.images.subarray(0, 8 * 2 * 34 * 34)], [8, 34, 34]));
 */
export async function eventFramesPng(samples: Uint8Array[], shape: [number, number, number], opts: GridOptions = {}): Promise<Buffer> {
  const [T, H, W] = shape, plane = H * W;
  samples.forEach((s, i) => { if (s.length !== 2 * T * plane) throw invalidArg('eventFramesPng', `samples[${i}]`, `${2 * T * plane} counts (2 × ${T} × ${H} × ${W})`, `${s.length}`); });
  const peak = samples.map((s) => Math.max(1, ...s));
  return grid(samples.length, T, H, W, (r, f) => {
    const s = samples[r]!, rgb = new Uint8Array(plane * 3);
    for (let p = 0; p < plane; p++) {
      rgb[3 * p] = Math.round((255 * s[(2 * f + 1) * plane + p]!) / peak[r]!);
      rgb[3 * p + 2] = Math.round((255 * s[2 * f * plane + p]!) / peak[r]!);
      rgb[3 * p + 1] = Math.min(rgb[3 * p]!, rgb[3 * p + 2]!);
    }
    return rgb;
  }, opts);
}

/**
 * Spike maps as a PNG grid: row c is channel c, column t time step t; white where the neuron fired.
 * @param spikes [T, C, H, W] values of one sample, non-zero = a spike (row-major)
 * @param shape [T, C, H, W]
 * @param channels how many channels to draw (default all)
 * @returns the PNG bytes
 * @example
 * const png = await report.spikeMapsPng(Float32Array.from(rec.toArray().flat(4)), [8, 128, 34, 34], 8);
 */
export async function spikeMapsPng(spikes: ArrayLike<number>, shape: [number, number, number, number], channels = shape[1], opts: GridOptions = {}): Promise<Buffer> {
  const [T, C, H, W] = shape, plane = H * W;
  if (spikes.length !== T * C * plane) throw invalidArg('spikeMapsPng', 'spikes', `${T * C * plane} values (${shape.join(' × ')})`, `${spikes.length}`);
  return grid(Math.min(channels, C), T, H, W, (c, t) => {
    const rgb = new Uint8Array(plane * 3), base = (t * C + c) * plane;
    for (let p = 0; p < plane; p++) if (spikes[base + p] !== 0) rgb.fill(255, 3 * p, 3 * p + 3);
    return rgb;
  }, opts);
}

/**
 * Writes PNG bytes atomically.
 * @example await writePng('docs/results/events-frames.png', await eventFramesPng(samples, [8, 34, 34]));
 */
export async function writePng(path: string, png: Buffer | Promise<Buffer>): Promise<void> {
  writeFileAtomic(path, await png);
}
