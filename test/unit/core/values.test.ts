import * as assert from 'node:assert/strict';
import { parseTimeUtc, toEpochMs } from '../../../src/core/values';
import { normalizeText } from '../helpers';

describe('timestamps', () => {
  // Run under a zone far from UTC so that a local-time reading would show (Node reads TZ again when it changes).
  let saved: string | undefined;
  before(() => {
    saved = process.env.TZ;
    process.env.TZ = 'America/Los_Angeles';
    assert.notEqual(new Date(2025, 5, 1, 10).getTime(), Date.UTC(2025, 5, 1, 10), 'the test zone is not UTC');
  });
  after(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });

  it('reads a date-time without a zone as UTC, in every common spelling', () => {
    const want = Date.UTC(2025, 5, 1, 10, 0, 0);
    for (const s of ['2025-06-01T10:00:00', '2025-06-01 10:00:00', '2025-06-01T10:00', '2025-06-01T10:00:00Z', '2025-06-01T12:00:00+02:00', ' 2025-06-01T10:00:00 ']) {
      assert.equal(parseTimeUtc(s), want, s);
      assert.equal(toEpochMs(s), want, s);
    }
    assert.equal(parseTimeUtc('2025-06-01T10:00:00.250'), want + 250);
    assert.equal(parseTimeUtc('2025-06-01 10:00:00.250+00:00'), want + 250);
    assert.equal(parseTimeUtc('2025-06-01'), Date.UTC(2025, 5, 1));
    // Zoned forms Postgres, loggers and HTTP dates write are read as zoned.
    for (const [s, ms] of [
      ['2025-06-01 10:00:00.123456+00', want + 123],
      ['2025-06-01 10:00:00 UTC', want],
      ['2025-06-01 10:00:00 GMT', want],
      ['2025-06-01 10:00:00 +0000', want],
      ['2025-06-01 03:00:00-07', want],
      ['2025-06-01T10:00:00.123456', want + 123],
      ['Sun, 01 Jun 2025 10:00:00 GMT', want],
    ] as const) assert.equal(parseTimeUtc(s), ms, s);
  });

  it('reads the form most tracers write by arithmetic, as Date.parse reads it, and leaves everything near it to Date.parse', () => {
    // Random instants from 1970 to 2100, with and without milliseconds.
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let k = 0; k < 2000; k++) {
      const iso = new Date(Math.floor(rnd() * Date.UTC(2100, 0, 1))).toISOString();
      for (const s of [iso, iso.replace(/\.\d{3}Z$/, 'Z')]) assert.equal(parseTimeUtc(s), Date.parse(s), s);
    }
    // Days not in the calendar, fields out of range, years before 1970, lookalike characters, other lengths.
    for (const s of ['2026-02-29T10:00:00Z', '2024-02-29T10:00:00.000Z', '2025-04-31T10:00:00Z', '2025-06-01T24:00:00Z', '2025-06-01T10:60:00Z', '1969-12-31T23:59:59Z', '2025-06-01T10:00:00.5Z', '2025-06-01T10:00:00.0000Z', '２025-06-01T10:00:00Z', '2025-06-01T10:00:00\u0130', '2025-06-01t10:00:00Z']) {
      const want = Date.parse(s);
      const got = parseTimeUtc(s);
      if (s.startsWith('2026-02-29') || s.startsWith('2025-04-31')) assert.ok(Number.isNaN(got), s);
      else assert.ok(Object.is(got, Number.isFinite(want) ? want : NaN), `${s}: ${got} vs ${want}`);
    }
  });

  it('reads epoch numbers in s, ms, µs and ns, and rejects nonsense', () => {
    const ms = Date.UTC(2025, 5, 1, 10);
    assert.equal(toEpochMs(ms / 1000), ms);
    assert.equal(toEpochMs(ms), ms);
    assert.equal(toEpochMs(ms * 1000), ms);
    assert.equal(toEpochMs(`${ms}000000`), ms);
    for (const bad of ['yesterday', '2025-13-45T99:00:00', '', null, undefined, -5]) assert.ok(Number.isNaN(toEpochMs(bad)), String(bad));
  });

  it('puts a zone-less record timestamp in the UTC hour it names', () => {
    const { calls } = normalizeText(JSON.stringify({ model: 'gpt-4o', input_tokens: 1, output_tokens: 1, timestamp: '2025-06-01 23:30:00' }));
    assert.equal(new Date(calls[0].tsMs).toISOString(), '2025-06-01T23:30:00.000Z');
  });
});
