// A warm CLI child's rehearsal (src/cli/warm/rehearse.ts): the build runs through against the in-process
// stand-in for berthd, and leaves nothing behind (no handle, no listener, no output, no trace span).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

describe('warm CLI child rehearsal', () => {
  it('runs a build through and leaves nothing behind', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-rehearse-'));
    const traceFile = path.join(dir, 'trace.jsonl');
    // The trace module reads BERTH_TRACE as it loads: set before the import.
    process.env.BERTH_TRACE = traceFile;
    try {
      const { rehearse } = await import('../../src/cli/warm/rehearse.js');
      const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
      const listeners = process.eventNames().map((e) => `${String(e)}:${process.listenerCount(e)}`).join(',');
      assert.equal(await rehearse(), true);
      assert.equal(await rehearse(), true, 'again');
      assert.equal((process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length, handles);
      assert.equal(process.eventNames().map((e) => `${String(e)}:${process.listenerCount(e)}`).join(','), listeners);
      // (The client module's own "cli start" span is written as it loads, as in any CLI process.)
      const spans = (existsSync(traceFile) ? readFileSync(traceFile, 'utf8') : '').split('\n').filter((l) => l && !l.includes('"cli start'));
      assert.deepEqual(spans, [], 'no spans of the rehearsal');
    } finally {
      delete process.env.BERTH_TRACE;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
