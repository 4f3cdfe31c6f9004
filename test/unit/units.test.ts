import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bytesSize,
  formatG,
  fromHumanSize,
  humanDuration,
  humanSize,
  parseDuration,
  parseDurationNanos,
  ramInBytes,
} from '../../src/lib/units.js';
import { InvalidParameter } from '../../src/lib/errors.js';

function throwsMessage(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => e instanceof InvalidParameter && e.message === message, message);
}

test('humanSize is HumanSizeWithPrecision(size, 3)', () => {
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(1000), '1kB');
  assert.equal(humanSize(1024), '1.02kB');
  assert.equal(humanSize(2129920), '2.13MB');
  assert.equal(humanSize(1_500_000), '1.5MB');
  assert.equal(humanSize(77_800_000), '77.8MB');
  assert.equal(humanSize(123_456_789_012), '123GB');
  assert.equal(humanSize(1e15), '1PB');
  assert.equal(humanSize(1e27), '1e+03YB');
  // Go's %.3g switches to exponent form past the precision, a quirk docker shows too
  assert.equal(humanSize(999_999), '1e+03kB');
  assert.equal(humanSize(1024, 4), '1.024kB');
});

test('bytesSize is BytesSize ("%.4g", base 1024)', () => {
  assert.equal(bytesSize(0), '0B');
  assert.equal(bytesSize(1023), '1023B');
  assert.equal(bytesSize(1024), '1KiB');
  assert.equal(bytesSize(2129920), '2.031MiB');
  assert.equal(bytesSize(1024 * 1024 * 1024 * 1.5), '1.5GiB');
  assert.equal(bytesSize(2 ** 60), '1EiB');
});

test('formatG matches Go %g with precision', () => {
  assert.equal(formatG(1.5, 3), '1.5');
  assert.equal(formatG(123456, 3), '1.23e+05');
  assert.equal(formatG(0.0001234, 3), '0.000123');
  assert.equal(formatG(0.00001234, 3), '1.23e-05');
  assert.equal(formatG(100, 3), '100');
  assert.equal(formatG(-2.5, 2), '-2.5');
});

test('humanDuration follows go-units thresholds', () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  assert.equal(humanDuration(0), 'Less than a second');
  assert.equal(humanDuration(999), 'Less than a second');
  assert.equal(humanDuration(-5 * s), 'Less than a second');
  assert.equal(humanDuration(s), '1 second');
  assert.equal(humanDuration(2 * s), '2 seconds');
  assert.equal(humanDuration(59 * s), '59 seconds');
  assert.equal(humanDuration(60 * s), 'About a minute');
  assert.equal(humanDuration(119 * s), 'About a minute');
  assert.equal(humanDuration(2 * m), '2 minutes');
  assert.equal(humanDuration(59 * m), '59 minutes');
  assert.equal(humanDuration(60 * m), 'About an hour');
  assert.equal(humanDuration(89 * m), 'About an hour');
  assert.equal(humanDuration(90 * m), '2 hours');
  assert.equal(humanDuration(47 * h), '47 hours');
  assert.equal(humanDuration(48 * h), '2 days');
  assert.equal(humanDuration(13 * d), '13 days');
  assert.equal(humanDuration(14 * d), '2 weeks');
  assert.equal(humanDuration(59 * d), '8 weeks');
  assert.equal(humanDuration(60 * d), '2 months');
  assert.equal(humanDuration(729 * d), '24 months');
  assert.equal(humanDuration(730 * d), '2 years');
  assert.equal(humanDuration(3 * 365 * d), '3 years');
});

test('ramInBytes is RAMInBytes (binary)', () => {
  assert.equal(ramInBytes('512m'), 536870912);
  assert.equal(ramInBytes('512M'), 536870912);
  assert.equal(ramInBytes('512mb'), 536870912);
  assert.equal(ramInBytes('512MiB'), 536870912);
  assert.equal(ramInBytes('1.5g'), 1610612736);
  assert.equal(ramInBytes('32'), 32);
  assert.equal(ramInBytes('32b'), 32);
  assert.equal(ramInBytes('32 kb'), 32768);
  assert.equal(ramInBytes('1t'), 2 ** 40);
  assert.equal(ramInBytes('2p'), 2 * 2 ** 50);
  assert.equal(ramInBytes('0.5k'), 512);
  assert.equal(ramInBytes('1.7k'), 1740);
});

test('ramInBytes rejects malformed sizes', () => {
  throwsMessage(() => ramInBytes(''), "invalid size: ''");
  throwsMessage(() => ramInBytes('m'), "invalid size: 'm'");
  throwsMessage(() => ramInBytes('-1m'), "invalid size: '-1m'");
  throwsMessage(() => ramInBytes('1..2m'), "invalid size: '1..2m'");
  throwsMessage(() => ramInBytes('12x'), "invalid suffix: 'x'");
  throwsMessage(() => ramInBytes('12bb'), "invalid suffix: 'bb'");
  throwsMessage(() => ramInBytes('12mx'), "invalid suffix: 'mx'");
  throwsMessage(() => ramInBytes('12kib2'), "invalid size: '12kib2'");
  throwsMessage(() => ramInBytes('12mibs'), "invalid suffix: 'mibs'");
});

test('fromHumanSize is decimal', () => {
  assert.equal(fromHumanSize('10m'), 10_000_000);
  assert.equal(fromHumanSize('10MB'), 10_000_000);
  assert.equal(fromHumanSize('1.5k'), 1500);
  assert.equal(fromHumanSize('1KiB'), 1000);
  assert.equal(fromHumanSize('3 G'), 3e9);
  assert.equal(fromHumanSize('100'), 100);
  throwsMessage(() => fromHumanSize('abc'), "invalid size: 'abc'");
});

test('parseDuration is time.ParseDuration in milliseconds', () => {
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('1s'), 1000);
  assert.equal(parseDuration('300ms'), 300);
  assert.equal(parseDuration('1h2m3.5s'), 3_723_500);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('-1s'), -1000);
  assert.equal(parseDuration('+2m'), 120_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('.5s'), 500);
  assert.equal(parseDuration('1.s'), 1000);
  assert.equal(parseDuration('10us'), 0.01);
  assert.equal(parseDuration('10µs'), 0.01);
  assert.equal(parseDuration('10μs'), 0.01);
  assert.equal(parseDuration('1500ns'), 0.0015);
  assert.equal(parseDurationNanos('1.000000001s'), 1_000_000_001n);
  assert.equal(parseDurationNanos('2562047h47m16.854775807s'), 2n ** 63n - 1n);
});

test('parseDuration rejects malformed input with Go wording', () => {
  throwsMessage(() => parseDuration(''), 'time: invalid duration ""');
  throwsMessage(() => parseDuration('-'), 'time: invalid duration "-"');
  throwsMessage(() => parseDuration('s'), 'time: invalid duration "s"');
  throwsMessage(() => parseDuration('.s'), 'time: invalid duration ".s"');
  throwsMessage(() => parseDuration('1h-2m'), 'time: unknown unit "h-" in duration "1h-2m"');
  throwsMessage(() => parseDuration('1h 2m'), 'time: unknown unit "h " in duration "1h 2m"');
  throwsMessage(() => parseDuration('1h.'), 'time: invalid duration "1h."');
  throwsMessage(() => parseDuration('3'), 'time: missing unit in duration "3"');
  throwsMessage(() => parseDuration('3x'), 'time: unknown unit "x" in duration "3x"');
  throwsMessage(() => parseDuration('1d'), 'time: unknown unit "d" in duration "1d"');
  throwsMessage(() => parseDuration('9999999999h'), 'time: invalid duration "9999999999h"');
});
