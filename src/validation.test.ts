import { isDeepStrictEqual } from 'util';

import cases from './validation.cases.json';
import rules from './validation.json';
import { alphaError, historyError, liveChannel, optionError, parseDuration, windowError } from './validation';

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

describe('shared live channel cases', () => {
  it.each(cases.liveChannel.map((c) => [c.path, c.queryType, c.data]))('%s', (path, queryType, data) => {
    expect(liveChannel(queryType as 'ttest' | 'kafka' | 'power', data as Record<string, unknown>)).toBe(path);
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
