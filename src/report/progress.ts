/**
 * Progress display for the CLI: a cli-progress bar with ETA and live values on a terminal; on a pipe or CI log, one
 * line per loop (plus a line every `lineEverySeconds`) so logs stay readable.
 */
import cliProgress from 'cli-progress';
import type { ProgressSink } from '../train/progress.js';

/** Options of TerminalProgress. */
export interface TerminalProgressOptions {
  /** Where to draw (default process.stderr, so that stdout keeps the results). */
  stream?: NodeJS.WriteStream;
  /** Without a TTY: print a progress line at most this often (default 30 s). */
  lineEverySeconds?: number;
}

/**
 * A ProgressSink that draws on the terminal.
 * @example
 * await trainAnn({ ..., progress: new TerminalProgress() });
 */
export class TerminalProgress implements ProgressSink {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly every: number;
  private bar: cliProgress.SingleBar | undefined;
  private label = '';
  private total = 0;
  private lastLine = 0;

  constructor(opts: TerminalProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.every = (opts.lineEverySeconds ?? 30) * 1000;
  }

  start(label: string, total: number): void {
    this.stop(); // a bar still running (a loop left early) ends here rather than under the new one
    this.label = label;
    this.total = total;
    this.lastLine = performance.now();
    if (!this.tty) return;
    this.bar = new cliProgress.SingleBar({
      stream: this.stream,
      format: `${label} [{bar}] {percentage}% {value}/{total} | ETA {eta_formatted} | {info}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    }, cliProgress.Presets.shades_classic);
    this.bar.start(total, 0, { info: '' });
  }

  update(done: number, info: Record<string, string | number> = {}): void {
    const text = Object.entries(info).map(([k, v]) => `${k} ${v}`).join('  ');
    if (this.bar) {
      this.bar.update(done, { info: text });
      return;
    }
    if (performance.now() - this.lastLine >= this.every) {
      this.lastLine = performance.now();
      this.stream.write(`${this.label}: ${done}/${this.total}  ${text}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  log(line: string): void {
    this.stream.write(`${line}\n`);
  }
}
