import { isDeepStrictEqual } from 'util';

import cases from './validation.cases.json';
import rules from './validation.json';
import {
  alphaError,
  anomalyErrors,
  detectorUses,
  historyError,
  liveChannel,
  optionError,
  parseDuration,
  seasonWindowError,
  windowError,
} from './validation';

// The same table runs in go test (pkg/models/validation_test.go).
describe('shared validation cases', () => {
  it.each(cases.window.map((c) => [c.input, 'ns' in c ? c.ns : undefined]))('window %j', (input, ns) => {
    const err = windowError(input);
    if (ns === undefined) {
      expect(err).toBeDefined();
    } else {
      expect(err).toBeUndefined();
      expect(parseDuration(input.trim())).toBe(BigInt(ns));
    }
  });

  const choice = (field: 'output' | 'mode' | 'aggregate') =>
    cases[field].map((c) => [field, c.input, c.ok] as [typeof field, string, boolean]);
  it.each([...choice('output'), ...choice('mode'), ...choice('aggregate')])('%s %j ok=%s', (field, input, ok) => {
    expect(optionError(field, input) === undefined).toBe(ok);
  });

  it.each(cases.history.map((c) => [c.input, c.ok]))('history %j ok=%s', (input, ok) => {
    expect(historyError(input) === undefined).toBe(ok);
  });

  it.each(cases.alpha.map((c) => [c.input, c.ok]))('alpha %j ok=%s', (input, ok) => {
    expect(alphaError(input) === undefined).toBe(ok);
  });
});

// Each case's settings, added to a query valid otherwise, give exactly one
// error, naming the case's field (none: valid), as in go test.
describe('shared anomaly cases', () => {
  it('has cases', () => {
    expect(cases.anomaly.length).toBeGreaterThanOrEqual(20);
  });
  it.each(cases.anomaly.map((c) => [c.query, 'field' in c ? c.field : undefined]))('%j names %s', (query, field) => {
    const errors = anomalyErrors({ refId: 'A', queryType: 'anomaly', measurement: 'm', fields: ['a'], ...(query as object) });
    expect(Object.keys(errors)).toEqual(field === undefined ? [] : [field]);
  });
});

describe('anomaly settings', () => {
  it('says which detectors read a setting', () => {
    expect(detectorUses('seasonal', 'season')).toBe(true);
    expect(detectorUses('zscore', 'season')).toBe(false);
    expect(detectorUses('ttest', 'alpha')).toBe(true);
    expect(detectorUses('ttest', 'threshold')).toBe(false);
  });

  it.each([
    ['1d', '5m', undefined],
    ['1w', '1m', undefined],
    ['24h', '7m', 'The window must divide the season (24h) into whole windows, e.g. 5m, 15m or 1h'],
    ['1w', '30s', 'The window gives 20160 windows per season (1w), more than 10080: use a longer window'],
    [undefined, undefined, undefined],
    ['$season', '7m', undefined],
    ['2d', '7m', undefined],
  ])('season %j, window %j: %s', (season, window, want) => {
    expect(seasonWindowError(season, window)).toBe(want);
  });

  it('checks the window against the season only for a detector that reads it', () => {
    expect(anomalyErrors({ refId: 'A', detector: 'zscore', window: '7m' })).toEqual({});
    expect(Object.keys(anomalyErrors({ refId: 'A', detector: 'holtwinters', window: '7m' }))).toEqual(['window']);
  });

  it('reports every unusable field', () => {
    const errors = anomalyErrors({ refId: 'A', detector: 'mad', mode: 'windows', output: 't', threshold: 0, direction: 'up' as 'both' });
    expect(Object.keys(errors).sort()).toEqual(['direction', 'mode', 'output', 'threshold']);
  });
});

describe('shared live channel cases', () => {
  it.each(cases.liveChannel.map((c) => [c.path, c.queryType, c.data]))('%s', (path, queryType, data) => {
    expect(liveChannel(queryType as 'ttest' | 'kafka' | 'anomaly' | 'power', data as Record<string, unknown>)).toBe(path);
  });

  // As in go test: two cases share a path exactly when their identities are
  // equal (the separator cases differ only in where a = , quote, NUL or
  // backslash sits, or in the Unicode normalization of a name).
  it('gives equal identities, and only those, one path', () => {
    const identity = (c: (typeof cases.liveChannel)[number]) => {
      const data = c.data as Record<string, unknown>;
      return { '': c.queryType, ...Object.fromEntries(rules.liveChannel.identity.filter((k) => k in data).map((k) => [k, data[k]])) };
    };
    cases.liveChannel.forEach((a, i) =>
      cases.liveChannel.slice(0, i).forEach((b) => {
        expect([a.data, b.data, a.path === b.path]).toEqual([a.data, b.data, isDeepStrictEqual(identity(a), identity(b))]);
      })
    );
  });
});
