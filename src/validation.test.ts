import cases from './validation.cases.json';
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
});
