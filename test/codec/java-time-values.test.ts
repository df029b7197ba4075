/**
 * java.time text both ways (pure): what Java's parse methods take and its toString writes, on the
 * edge cases Java documents (negative durations with fractions, weeks in periods, years below 1000
 * and beyond 9999, offsets with seconds).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatDuration,
  formatPeriod,
  formatYearMonth,
  formatZoneOffset,
  parseDuration,
  parseMonthDay,
  parsePeriod,
  parseYear,
  parseYearMonth,
  parseZoneOffset,
  splitZoned,
} from '../../src/codec/hessian/java-time-values.js';

test('Duration: parse then toString as Java does (Duration.parse(x).toString())', () => {
  const cases: Array<[string, string]> = [
    ['PT0S', 'PT0S'],
    ['PT8H6M12.345S', 'PT8H6M12.345S'],
    ['P2DT3H4M', 'PT51H4M'],
    ['-PT0.5S', 'PT-0.5S'],
    ['PT-0.5S', 'PT-0.5S'],
    ['-PT61S', 'PT-1M-1S'],
    ['PT-25H', 'PT-25H'],
    ['PT1.000000001S', 'PT1.000000001S'],
    ['pt1m', 'PT1M'],
    ['PT-1.5S', 'PT-1.5S'],
  ];
  for (const [text, java] of cases) {
    const d = parseDuration(text);
    assert.ok(d !== undefined, `${text} parses`);
    assert.equal(formatDuration(d.seconds, d.nanos), java, text);
  }
  assert.deepEqual(parseDuration('-PT0.5S'), { seconds: -1n, nanos: 500_000_000 });
  assert.deepEqual(parseDuration(`PT${2n ** 63n - 1n}S`), { seconds: 2n ** 63n - 1n, nanos: 0 });
  for (const bad of ['', 'P', 'PT', 'P1H', 'PT1.1234567890S', `PT${2n ** 63n}S`, 'PT1S ', '1S']) assert.equal(parseDuration(bad), undefined, bad);
});

test('Period: weeks become days, signs apply to each part, zero is P0D; parts past a Java int are refused', () => {
  assert.deepEqual(parsePeriod('P1Y2M3W4D'), { years: 1, months: 2, days: 25 });
  assert.deepEqual(parsePeriod('-P1Y-2M'), { years: -1, months: 2, days: 0 });
  assert.equal(formatPeriod(0, 0, 0), 'P0D');
  assert.equal(formatPeriod(1, -2, 0), 'P1Y-2M');
  for (const bad of ['P', 'PT1H', 'P2147483648D', 'P306783379W', 'P1D1Y']) assert.equal(parsePeriod(bad), undefined, bad);
});

test('Year, YearMonth, MonthDay: Java’s ranges and padding', () => {
  assert.equal(parseYear(2024), 2024);
  assert.equal(parseYear('-44'), -44);
  assert.equal(parseYear(1e9), undefined);
  assert.equal(parseYear(1.5), undefined);
  assert.deepEqual(parseYearMonth('+12345-01'), { year: 12345, month: 1 });
  assert.equal(formatYearMonth(-44, 3), '-0044-03');
  assert.equal(formatYearMonth(12345, 1), '12345-01');
  assert.equal(parseYearMonth('2024-13'), undefined);
  assert.deepEqual(parseMonthDay('--02-29'), { month: 2, day: 29 });
  assert.equal(parseMonthDay('--04-31'), undefined);
});

test('ZoneOffset: Z, minutes and seconds, ±18:00 at most', () => {
  assert.equal(parseZoneOffset('Z'), 0);
  assert.equal(parseZoneOffset('-00:00'), 0);
  assert.equal(parseZoneOffset('+05:30:15'), 19815);
  assert.equal(parseZoneOffset('-18:00'), -64800);
  assert.equal(parseZoneOffset('+18:00:01'), undefined);
  assert.equal(formatZoneOffset(0), 'Z');
  assert.equal(formatZoneOffset(-19815), '-05:30:15');
  assert.equal(formatZoneOffset(3600), '+01:00');
  assert.deepEqual(splitZoned('2024-03-31T03:30+02:00[Europe/Paris]'), { local: '2024-03-31T03:30', offset: '+02:00', zone: 'Europe/Paris' });
  assert.equal(splitZoned('2024-03-31T03:30[Europe/Paris]'), undefined);
});
