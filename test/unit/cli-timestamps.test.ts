// --since/--until values as the docker CLI sends them to the API: "seconds.nanoseconds".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiTimestamp } from '../../src/cli/timestamps.js';

test('a timestamp keeps its nanoseconds (logs -t output pasted into --until)', () => {
  assert.equal(apiTimestamp('2026-12-04T20:47:38.895235672Z'), '1796417258.895235672');
  assert.equal(apiTimestamp('2026-12-04T20:47:38.5+01:00'), '1796413658.500000000');
  assert.equal(apiTimestamp('2026-12-04T20:47:38Z'), '1796417258.000000000');
});

test('a duration counts back from now; seconds pass through; garbage names the flag', () => {
  assert.equal(apiTimestamp('90s', 1_000_000_000), '999910.000000000');
  assert.equal(apiTimestamp('1700000000.5'), '1700000000.5');
  assert.throws(() => apiTimestamp('soon', Date.now(), 'until'), /invalid value for "until": failed to parse value as time or duration: "soon"/);
});
