import { queryTypeOf, VigilQuery, VigilQueryType } from './types';

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
    [{}, 'ttest'],
  ])('%j is %s', (query, want) => {
    expect(queryTypeOf({ refId: 'A', ...query })).toBe(want);
  });
});
