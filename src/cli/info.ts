/** `snnkit info`: the engine's configuration (libtorch, threads, allocator, CUDA, BLAS). */
import type { Command } from 'commander';
import { buildInfo, getNumThreads, memory } from '../index.js';

/** What `snnkit info --json` prints. */
export interface EngineInfo {
  torchVersion: string;
  hasCuda: boolean;
  threads: number;
  allocator: string;
  parallel: string;
  node: string;
}

/** @returns the engine's configuration */
export function engineInfo(): EngineInfo {
  const b = buildInfo();
  return { torchVersion: b.torchVersion, hasCuda: b.hasCuda, threads: getNumThreads(), allocator: memory().allocator, parallel: b.parallel, node: process.versions.node };
}

/** Registers `info` on the program. */
export function infoCommand(program: Command): void {
  program
    .command('info')
    .description('show the engine configuration: libtorch version, threads, allocator, CUDA')
    .option('--json', 'print one JSON object as the last line')
    .action((opts: { json?: boolean }) => {
      const i = engineInfo();
      if (opts.json) {
        console.log(JSON.stringify(i));
        return;
      }
      console.log(`libtorch ${i.torchVersion}${i.hasCuda ? ' (CUDA available)' : ' (CPU)'}, ${i.threads} threads, ` +
        `allocator ${i.allocator}, Node ${i.node}`);
      console.log(i.parallel.trim());
    });
}
