/** Image folders on small synthetic PNG/JPEG trees: layout, pixel order, cache, errors; .tar.gz extraction once. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { c as tarCreate } from 'tar';
import { SnnkitError } from '../../src/errors.js';
import { extractTarGzOnce, findImageFolderRoot, loadImageFolder } from '../../src/data/imagefolder.js';

const tmp = mkdtempSync(join(tmpdir(), 'snnkit-imgf-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A w×h RGB image whose pixel (x, y) is (x + 10 * y, 100 + v, 200 - x), as PNG or JPEG. */
async function image(path: string, w: number, h: number, v: number, format: 'png' | 'jpeg' = 'png'): Promise<void> {
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.set([x + 10 * y, 100 + v, 200 - x], 3 * (y * w + x));
  const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  writeFileSync(path, await (format === 'png' ? img.png() : img.jpeg({ quality: 90 })).toBuffer());
}

async function makeTree(root: string, spec: Record<string, string[]>, w = 4, h = 3): Promise<void> {
  for (const [cls, files] of Object.entries(spec)) {
    mkdirSync(join(root, 'train', cls), { recursive: true });
    for (const [i, f] of files.entries()) await image(join(root, 'train', cls, f), w, h, i, f.toLowerCase().endsWith('.png') ? 'png' : 'jpeg');
  }
}

test('classes are the sorted folder names, images sorted by name, pixels channel-first', async () => {
  const root = join(tmp, 'pets');
  await makeTree(root, { dog: ['b.png', 'a.png'], ant: ['z.png'], cat: ['x.PNG', 'y.jpg'] });
  writeFileSync(join(root, 'train', 'dog', 'notes.txt'), 'not an image');
  const ds = await loadImageFolder(root, 'train', { cache: false });
  assert.equal(ds.name, 'pets');
  assert.deepEqual(ds.classes, ['ant', 'cat', 'dog']);
  // Held one class after the other in turn (ant, cat, dog, cat, dog), not folder by folder.
  assert.deepEqual([...ds.labels], [0, 1, 2, 1, 2]);
  assert.deepEqual(ds.shape, [3, 3, 4]);
  assert.equal(ds.length, 5);
  assert.deepEqual(ds.source.map((s) => s.slice(root.length)), ['/train/ant/z.png', '/train/cat/x.PNG', '/train/dog/a.png', '/train/cat/y.jpg', '/train/dog/b.png']);
  assert.ok(ds.images.buffer instanceof SharedArrayBuffer && ds.labels.buffer instanceof SharedArrayBuffer);
  const a = ds.images.subarray(2 * 36, 3 * 36); // dog/a.png, written second (v = 1)
  assert.deepEqual([...a.subarray(0, 12)], [0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23]);
  assert.deepEqual([...a.subarray(12, 24)], new Array(12).fill(101));
  assert.deepEqual([...a.subarray(24, 28)], [200, 199, 198, 197]);
  const jpg = ds.images.subarray(3 * 36 + 12, 3 * 36 + 24); // cat/y.jpg green plane, lossy: near 101
  assert.ok([...jpg].every((g) => Math.abs(g - 101) <= 6), `JPEG green plane ${[...jpg]}`);
  const gray = await loadImageFolder(root, 'train', { cache: false, channels: 1 });
  assert.deepEqual(gray.shape, [1, 3, 4]);
});

test('the decoded cache: written atomically once, read back identical, rebuilt when a file changes', async () => {
  const root = join(tmp, 'cached');
  const cacheDir = join(tmp, 'cache');
  await makeTree(root, { a: ['1.png', '2.png'], b: ['3.png'] });
  const first = await loadImageFolder(root, 'train', { cacheDir });
  assert.equal(first.source.length, 3);
  const files = readdirSync(join(cacheDir, 'imagefolder'));
  assert.equal(files.length, 1, `one cache file, no temp files left: ${files}`);
  assert.match(files[0] as string, /^cached-train-c3-[0-9a-f]{12}\.bin$/);
  const second = await loadImageFolder(root, 'train', { cacheDir });
  assert.deepEqual(second.source, [join(cacheDir, 'imagefolder', files[0] as string)]);
  assert.deepEqual(second.images, first.images);
  assert.deepEqual(second.labels, first.labels);
  assert.deepEqual(second.shape, first.shape);
  assert.deepEqual(second.classes, first.classes);
  assert.ok(second.images.buffer instanceof SharedArrayBuffer);
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(root, 'train', 'b', '3.png'), later, later);
  await image(join(root, 'train', 'b', '4.png'), 4, 3, 9);
  const third = await loadImageFolder(root, 'train', { cacheDir });
  assert.equal(third.length, 4);
  assert.equal(third.source.length, 4, 'decoded again, not read from the stale cache');
  assert.equal(readdirSync(join(cacheDir, 'imagefolder')).length, 1, 'the cache file is replaced, not added to');
  assert.equal((await loadImageFolder(root, 'train', { cacheDir })).source.length, 1);
  // A corrupt cache whose header length claims 4 GB is ignored and rebuilt.
  const cacheFile = join(cacheDir, 'imagefolder', readdirSync(join(cacheDir, 'imagefolder'))[0] as string);
  const bytes = readFileSync(cacheFile);
  bytes.writeUInt32LE(0xffffffff, 8);
  writeFileSync(cacheFile, bytes);
  assert.equal((await loadImageFolder(root, 'train', { cacheDir })).source.length, 4, 'decoded again');
});

test('image folder errors name the folder or the first odd file', async () => {
  const mixed = join(tmp, 'mixed');
  await makeTree(mixed, { a: ['1.png', '2.png'], b: ['3.png', '4.png'] });
  await image(join(mixed, 'train', 'a', '2.png'), 5, 3, 0);
  await image(join(mixed, 'train', 'b', '4.png'), 4, 4, 0);
  await assert.rejects(loadImageFolder(mixed, 'train', { cache: false }),
    (e: SnnkitError) => e.code === 'FILE_FORMAT'
      && /a\/2\.png: is 5×3×3 but .*a\/1\.png is 4×3×3; all images of an image folder must have one size/.test(e.message));
  await assert.rejects(loadImageFolder(mixed, 'test'),
    (e: SnnkitError) => e.code === 'FILE_NOT_FOUND' && /mixed\/test: no such folder \(expected the ImageFolder layout/.test(e.message));
  const broken = join(tmp, 'broken');
  await makeTree(broken, { a: ['1.png'] });
  writeFileSync(join(broken, 'train', 'a', '2.jpg'), 'not a jpeg');
  await assert.rejects(loadImageFolder(broken, 'train', { cache: false }), /a\/2\.jpg: cannot decode the image/);
  mkdirSync(join(broken, 'train', 'empty'));
  await assert.rejects(loadImageFolder(broken, 'train'), /train\/empty: class folder has no \.jpg\/\.jpeg\/\.png image/);
  mkdirSync(join(tmp, 'noclasses', 'train'), { recursive: true });
  await assert.rejects(loadImageFolder(join(tmp, 'noclasses'), 'train'), /noclasses\/train: has no class folders/);
  await assert.rejects(loadImageFolder(broken, 'train', { channels: 4 as 3 }), /loadImageFolder: argument 'opts\.channels' must be 1 or 3, got 4/);
});

test('a .tar.gz is extracted once into the cache, never next to the archive', async () => {
  const src = join(tmp, 'tar-src');
  await makeTree(join(src, 'wrapped'), { a: ['1.png'], b: ['2.png'] });
  const archiveDir = join(tmp, 'archives');
  mkdirSync(archiveDir);
  const archive = join(archiveDir, 'wrapped.tar.gz');
  await tarCreate({ gzip: true, file: archive, cwd: src }, ['wrapped']);
  const cacheDir = join(tmp, 'tar-cache');
  const dir = await extractTarGzOnce(archive, { cacheDir });
  assert.ok(dir.startsWith(join(cacheDir, 'extracted', 'wrapped-')));
  assert.deepEqual(readdirSync(archiveDir), ['wrapped.tar.gz']);
  assert.equal(findImageFolderRoot(dir, 'train'), join(dir, 'wrapped'));
  const marker = statSync(join(dir, '.snnkit-extracted')).mtimeMs;
  rmSync(join(dir, 'wrapped', 'train', 'b', '2.png'));
  assert.equal(await extractTarGzOnce(archive, { cacheDir }), dir);
  assert.equal(statSync(join(dir, '.snnkit-extracted')).mtimeMs, marker);
  assert.ok(!existsSync(join(dir, 'wrapped', 'train', 'b', '2.png')), 'not extracted a second time');
  assert.deepEqual(readdirSync(join(cacheDir, 'extracted')), [dir.slice(join(cacheDir, 'extracted').length + 1)]);
  const cut = join(archiveDir, 'cut.tar.gz');
  writeFileSync(cut, (await import('node:fs')).readFileSync(archive).subarray(0, 60));
  await assert.rejects(extractTarGzOnce(cut, { cacheDir }),
    (e: SnnkitError) => e.code === 'FILE_FORMAT' && /cut\.tar\.gz: cannot extract the \.tar\.gz archive/.test(e.message));
  assert.equal(readdirSync(join(cacheDir, 'extracted')).length, 1, 'no half-extracted folder left');
  await assert.rejects(extractTarGzOnce(join(archiveDir, 'none.tar.gz'), { cacheDir }),
    (e: SnnkitError) => e.code === 'FILE_NOT_FOUND' && /none\.tar\.gz: no such file or folder/.test(e.message));
});
