// Prints a command's final JSON line (the file LAST) with the commit it ran at and its wall time added: what the
// bench scripts record in docs/results/. usage: node bench/stamp-result.mjs LAST START_EPOCH_SECONDS > OUT.json
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const [last, start] = process.argv.slice(2);
const result = JSON.parse(readFileSync(last, 'utf8'));
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
console.log(JSON.stringify({ ...result, commit, wall_seconds: Math.round(Date.now() / 1000) - Number(start) }));
