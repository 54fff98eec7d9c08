/**
 * Not a test: the child process of the resume test (ann.test.ts). It trains a small model and is killed part-way.
 * It does nothing unless SNNKIT_RESUME_CHILD is set, because node --test also loads every file under test/.
 */
import { trainChildRun, trainSnnChildRun } from './fixture.js';

if (process.env['SNNKIT_RESUME_CHILD']) {
  const [outDir, epochs, slowMs] = [process.env['OUT']!, Number(process.env['EPOCHS']), Number(process.env['SLOW_MS'] ?? 0)];
  await (process.env['KIND'] === 'snn' ? trainSnnChildRun : trainChildRun)(outDir, epochs, slowMs);
}
