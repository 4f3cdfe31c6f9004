// moby's health-check merge (daemon/commit.go merge), used at create and at commit: given fields win,
// the test and zero fields come from the image, NONE is kept, zero fields are left out.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeHealthcheck } from '../../src/engine/containers/config.js';

const S = 1_000_000_000;
const image = { Test: ['CMD-SHELL', 'echo ok'], Interval: 30 * S, Timeout: 3 * S, Retries: 2 };

describe('mergeHealthcheck', () => {
  it('fills the test and the fields not given from the image', () => {
    assert.deepEqual(mergeHealthcheck({ Interval: S, StartPeriod: 20 * S }, image), { Test: image.Test, Interval: S, Timeout: 3 * S, StartPeriod: 20 * S, Retries: 2 });
    assert.deepEqual(mergeHealthcheck({ Test: [], Interval: 0, Retries: 5 }, image), { ...image, Retries: 5 });
    assert.deepEqual(mergeHealthcheck({}, image), image);
  });
  it('keeps a given test, NONE included', () => {
    assert.deepEqual(mergeHealthcheck({ Test: ['NONE'] }, image), { ...image, Test: ['NONE'] });
    assert.deepEqual(mergeHealthcheck({ Test: ['CMD', 'true'], Timeout: S }, image), { ...image, Test: ['CMD', 'true'], Timeout: S });
  });
  it('without one side: the other as it is', () => {
    assert.equal(mergeHealthcheck(undefined, undefined), undefined);
    assert.equal(mergeHealthcheck(null, null), undefined);
    assert.deepEqual(mergeHealthcheck(null, image), image);
    assert.deepEqual(mergeHealthcheck({ Interval: S, Timeout: 0 }, undefined), { Interval: S });
  });
});
