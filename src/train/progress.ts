/** How trainers report progress: an interface the CLI implements with a progress bar, and tests with nothing. */

/** Receives progress of a long loop. */
export interface ProgressSink {
  /** A new loop of `total` steps begins. */
  start(label: string, total: number): void;
  /** `done` steps are finished; `info` holds short values to show (loss, accuracy, images/s). */
  update(done: number, info?: Record<string, string | number>): void;
  /** The loop ended. */
  stop(): void;
  /** A line of text for the log (an epoch summary). */
  log(line: string): void;
}

/** A sink that shows nothing. */
export const silentProgress: ProgressSink = { start() {}, update() {}, stop() {}, log() {} };
