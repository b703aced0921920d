import defaults from './defaults.json';
import rules from './validation.json';
import { DEFAULT_ANOMALY, queryTypeOf, VigilQuery, VigilQueryType } from './types';

// The same inference as the backend's for queries saved without queryType
// (pkg/models/query_test.go, TestParseQueryMigratesOldQueries).
describe('queryTypeOf', () => {
  it.each<[Omit<VigilQuery, 'refId'>, VigilQueryType]>([
    [{ queryType: 'alerts', flux: 'buckets()' }, 'alerts'],
    [{ flux: 'buckets()' }, 'flux'],
    [{ flux: '  ', influxql: 'SHOW DATABASES' }, 'influxql'],
    [{ measurement: 'm', fields: ['a'] }, 'ttest'],
    [{ measurement: 'm', window: '1m' }, 'ttest'],
    [{ measurement: 'm', alpha: 0.01 }, 'ttest'],
    [{ measurement: 'power', aggregate: 'mean' }, 'power'],
    [{ measurement: 'power', activePower: 'P' }, 'power'],
    [{ measurement: 'power', subMeters: [] }, 'power'],
    // An anomaly setting makes an anomaly query (pkg/models TestParseQueryInfersAnomaly).
    [{ measurement: 'm', fields: ['a'], detector: 'zscore' }, 'anomaly'],
    [{ measurement: 'm', fields: ['a'], threshold: 3 }, 'anomaly'],
    [{ measurement: 'm', fields: ['a'], season: '1d' }, 'anomaly'],
    [{ measurement: 'm', fields: ['a'], seasons: 3 }, 'anomaly'],
    [{ measurement: 'm', fields: ['a'], minDeviation: 1 }, 'anomaly'],
    [{ measurement: 'm', fields: ['a'], direction: 'above' }, 'anomaly'],
    [{ measurement: 'm', fields: ['a'], hwAlpha: 0.5 }, 'anomaly'],
    [{ measurement: 'm', fields: ['a'], hwBeta: 0.5 }, 'anomaly'],
    [{ measurement: 'm', fields: ['a'], hwGamma: 0.5 }, 'anomaly'],
    [{ topic: 't', measurement: 'm', fields: ['a'], detector: 'ttest' }, 'anomaly'],
    [{ topic: 't', measurement: 'm', fields: ['a'] }, 'kafka'],
    [{ flux: 'x', detector: 'mad' }, 'flux'],
    [{}, 'ttest'],
  ])('%j is %s', (query, want) => {
    expect(queryTypeOf({ refId: 'A', ...query })).toBe(want);
  });
});

describe('DEFAULT_ANOMALY', () => {
  it('has a default threshold for exactly the detectors that read one', () => {
    expect(Object.keys(DEFAULT_ANOMALY.threshold).sort()).toEqual([...rules.anomaly.uses.threshold].sort());
    expect(Object.values(DEFAULT_ANOMALY.threshold).every((t) => t > 0)).toBe(true);
  });
  it('defaults to choices the rules allow', () => {
    expect(rules.options.detector).toContain(DEFAULT_ANOMALY.detector);
    expect(rules.options.anomalyOutput).toContain(DEFAULT_ANOMALY.output);
    expect(rules.options.direction).toContain(DEFAULT_ANOMALY.direction);
    expect(rules.options.season).toContain(DEFAULT_ANOMALY.season);
    expect(DEFAULT_ANOMALY.seasons).toBe(defaults.query.anomaly.seasons);
  });
});
