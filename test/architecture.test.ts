// The folders are the architecture: imports run downward only (docs/architecture.md), and files and functions stay small.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** The layers of src/, bottom first; a file may import its own folder and the folders of lower layers. */
const LAYERS = [['errors'], ['native'], ['tensor'], ['formats', 'surrogate', 'optim'], ['functional', 'data'], ['nn'], ['neurons'],
  ['convert'], ['models'], ['calibrate', 'train'], ['report'], ['io'], ['index'], ['cli']];
const rank = new Map(LAYERS.flatMap((l, i) => l.map((f) => [f, i] as const)));
const src = join(process.cwd(), 'src');
const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => join(src, f));
const folder = (file: string): string => relative(src, file).split('/')[0]!.replace(/\.ts$/, '');

test('every import in src/ runs downward: to its own folder or a lower layer', () => {
  const upward: string[] = [];
  for (const f of files) {
    assert.ok(rank.has(folder(f)), `src/${relative(src, f)}: folder '${folder(f)}' is in no layer of this test`);
    for (const m of readFileSync(f, 'utf8').matchAll(/^(?:import|export)\b[^;]*?from '(\.[^']+)'/gms)) {
      const to = folder(resolve(dirname(f), m[1]!.replace(/\.js$/, '.ts')));
      if (to !== folder(f) && !(rank.get(to)! < rank.get(folder(f))!)) upward.push(`src/${relative(src, f)} → ${to}`);
    }
  }
  assert.deepEqual(upward, []);
});

test('no file in src/ is over 500 lines', () => {
  const long = files.map((f) => [relative(src, f), readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > 500);
  assert.deepEqual(long, []);
});

test('no function in src/ is over 120 lines, and calibrateSnn (the calibration driver) is at most 80', () => {
  const long: string[] = [];
  let driver = 0;
  for (const f of files) {
    const sf = ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const lines = sf.getLineAndCharacterOfPosition(node.getEnd()).line - sf.getLineAndCharacterOfPosition(node.getStart()).line + 1;
        const name = node.name?.getText(sf) ?? (ts.isVariableDeclaration(node.parent) ? node.parent.name.getText(sf) : '<anonymous>');
        if (lines > 120) long.push(`src/${relative(src, f)}: ${name} (${lines} lines)`);
        if (name === 'calibrateSnn') driver = lines;
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  assert.deepEqual(long, []);
  assert.ok(driver > 0 && driver <= 80, `calibrateSnn has ${driver} lines`);
});
