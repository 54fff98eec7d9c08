#!/usr/bin/env node
/**
 * The `snnkit` command: a thin layer over the public API. Every command accepts --json and then prints one JSON
 * object with its results as the last line of stdout.
 */
import { Command, CommanderError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SnnkitError } from '../errors.js';
import { calibrateCommand } from './calibrate.js';
import { convertCommand } from './convert.js';
import { evalCommand } from './eval.js';
import { infoCommand } from './info.js';
import { trainAnnCommand } from './train-ann.js';
import { trainSnnCommand } from './train-snn.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * Builds the command tree (exported for tests).
 * @returns the root command
 */
export function buildCli(): Command {
  const program = new Command('snnkit')
    .description('Spiking neural networks in TypeScript: ANN→SNN conversion, calibration and surrogate-gradient training')
    .version(pkg.version)
    .showHelpAfterError('(snnkit <command> --help shows its options)')
    .option('--plugin <file>', 'a JavaScript module to import before the command: it registers surrogates of its own (registerSurrogate); repeatable',
      (v: string, all: string[]) => [...all, v], [] as string[])
    .hook('preAction', async () => loadPlugins(program.opts<{ plugin: string[] }>().plugin));
  trainAnnCommand(program);
  trainSnnCommand(program);
  evalCommand(program);
  convertCommand(program);
  calibrateCommand(program);
  infoCommand(program);
  return program;
}

/** Imports each plugin module (the files of `--plugin`), in order. */
async function loadPlugins(files: readonly string[]): Promise<void> {
  for (const f of files) {
    const path = resolve(f);
    if (!existsSync(path)) throw new SnnkitError(`--plugin: '${f}' does not exist (expected a JavaScript module that imports snnkit)`, 'FILE_NOT_FOUND');
    try {
      await import(pathToFileURL(path).href);
    } catch (e) {
      if (e instanceof SnnkitError) throw e;
      throw new SnnkitError(`--plugin: importing '${f}' failed: ${(e as Error).message}`, 'INVALID_ARGUMENT');
    }
  }
}

async function main(): Promise<void> {
  try {
    await buildCli().exitOverride().parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    const msg = e instanceof SnnkitError ? `snnkit: ${e.message} [${e.code}]` : `snnkit: ${(e as Error).stack ?? String(e)}`;
    process.stderr.write(`${msg}\n`);
    process.exit(1);
  }
}

await main();
