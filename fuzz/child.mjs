// The fuzzer's worker: parses the inputs the driver sends (over IPC), one at a time, and answers with the outcome:
// accepted, typed (a SnnkitError), untyped (any other exception), or leak (live tensors left behind). A crash, a hang
// or a memory blow-up is seen by the driver (the process dies, does not answer, or grows past the cap).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TARGETS, liveTensors } from './targets.mjs';

const dir = mkdtempSync(join(tmpdir(), 'snnkit-fuzz-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
process.on('disconnect', () => process.exit(0));

process.on('message', async ({ id, target, bytes }) => {
  const before = await liveTensors();
  let outcome = 'accepted', message = '';
  try {
    await TARGETS[target].parse(Uint8Array.from(bytes), dir);
  } catch (e) {
    const typed = e instanceof Error && e.name === 'SnnkitError' && typeof e.code === 'string';
    outcome = typed ? 'typed' : 'untyped';
    message = typed ? `${e.code}: ${e.message}` : String(e?.stack ?? e);
  }
  const left = (await liveTensors()) - before;
  if (left !== 0 && outcome !== 'untyped') { outcome = 'leak'; message = `${left} live tensors left after: ${message || 'accepted'}`; }
  process.send({ id, outcome, message: message.slice(0, 2000), maxRssMb: process.resourceUsage().maxRSS / 1024 });
});
process.send({ ready: true });
