import { DataQueryRequest, DataSourceInstanceSettings, LiveChannelScope } from '@grafana/data';
import { of } from 'rxjs';

import { DataSource } from './datasource';
import { VigilOptions, VigilQuery } from './types';
import { liveChannel } from './validation';

const getDataStream = jest.fn(() => of({ data: ['live'] }));
const backendQuery = jest.fn(() => of({ data: ['backend'] }));

jest.mock('@grafana/runtime', () => ({
  DataSourceWithBackend: class {
    uid: string;
    constructor(s: { uid: string }) {
      this.uid = s.uid;
    }
    query(...args: unknown[]) {
      return backendQuery(...(args as []));
    }
  },
  getGrafanaLiveSrv: () => ({ getDataStream }),
  getTemplateSrv: () => ({
    // Replaces the known variables wherever they occur and leaves any other
    // $name (Grafana's InfluxQL macros among them) as it is.
    replace: (text: string, _vars: unknown, format?: string) => {
      const vars: Record<string, string[]> = { $field: ['hotend', 'bed'], $m: ['temperatures'] };
      return text.replace(/\$\w+/g, (name) => {
        const v = vars[name];
        if (!v) {
          return name;
        }
        if (v.length === 1) {
          return v[0];
        }
        return format === 'csv' ? v.join(',') : `{${v.join(',')}}`;
      });
    },
  }),
}));

const ds = new DataSource({ uid: 'vigil', jsonData: { defaultBucket: 'printer/autogen' } } as DataSourceInstanceSettings<VigilOptions>);

function request(...targets: VigilQuery[]) {
  return { requestId: 'r1', targets, scopedVars: {} } as unknown as DataQueryRequest<VigilQuery>;
}

describe('DataSource', () => {
  beforeEach(() => {
    getDataStream.mockClear();
    backendQuery.mockClear();
  });

  it('interpolates single and multi-value variables; fields become one per value', () => {
    const q = ds.applyTemplateVariables({ refId: 'A', measurement: '$m', fields: ['$field', 'air'], window: '5m' }, {});
    expect(q.measurement).toBe('temperatures');
    expect(q.fields).toEqual(['hotend', 'bed', 'air']);
  });

  it('subscribes a live t-test to one channel per field and query and sends the rest to the backend', () => {
    const live: Omit<VigilQuery, 'refId'> = { queryType: 'ttest', live: true, measurement: 'temperatures', fields: ['hotend', 'bed'] };
    ds.query(
      request(
        { refId: 'A', ...live, tags: { printer: 'p1' } },
        { refId: 'B', queryType: 'power', measurement: 'power' },
        { refId: 'C', ...live, tags: { printer: 'p2' } }
      )
    ).subscribe();
    const calls = getDataStream.mock.calls.map((c) => (c as unknown as [{ addr: { path: string; data: VigilQuery } }])[0].addr);
    // Each call: one field, its channel the one the backend computes from its data (shared cases check the hash).
    expect(calls.map((a) => [a.path.split('/').slice(0, 2).join('/'), a.data.fields, a.data.tags])).toEqual([
      ['ttest/hotend', ['hotend'], { printer: 'p1' }],
      ['ttest/bed', ['bed'], { printer: 'p1' }],
      ['ttest/hotend', ['hotend'], { printer: 'p2' }],
      ['ttest/bed', ['bed'], { printer: 'p2' }],
    ]);
    for (const a of calls) {
      expect(a.path).toBe(liveChannel('ttest', a.data as unknown as Record<string, unknown>));
    }
    expect(new Set(calls.map((a) => a.path)).size).toBe(4);
    expect(getDataStream).toHaveBeenCalledWith(
      expect.objectContaining({
        addr: expect.objectContaining({ scope: LiveChannelScope.DataSource, namespace: 'vigil', stream: 'vigil' }),
      })
    );
    expect(backendQuery).toHaveBeenCalledWith(expect.objectContaining({ targets: [expect.objectContaining({ refId: 'B' })] }));
  });

  it('subscribes a live kafka query to its own channel type', () => {
    ds.query(request({ refId: 'A', topic: 'printer', live: true, measurement: 'temperatures', fields: ['hotend'] })).subscribe();
    const calls = getDataStream.mock.calls.map((c) => (c as unknown as [{ addr: { path: string; data: VigilQuery } }])[0].addr);
    expect(calls).toHaveLength(1);
    expect(calls[0].data.queryType).toBe('kafka');
    expect(calls[0].path).toBe(liveChannel('kafka', calls[0].data as unknown as Record<string, unknown>));
    expect(calls[0].path.startsWith('kafka/hotend/')).toBe(true);
    expect(backendQuery).not.toHaveBeenCalled();
  });

  it('subscribes a live anomaly query over InfluxDB, and sends one over a topic to the backend', () => {
    ds.query(
      request(
        { refId: 'A', queryType: 'anomaly', detector: 'mad', live: true, measurement: 'temperatures', fields: ['hotend'] },
        { refId: 'B', queryType: 'anomaly', detector: 'mad', live: true, topic: 'printer', measurement: 'temperatures', fields: ['hotend'] }
      )
    ).subscribe();
    const calls = getDataStream.mock.calls.map((c) => (c as unknown as [{ addr: { path: string; data: Record<string, unknown> } }])[0].addr);
    expect(calls).toHaveLength(1);
    expect(calls[0].path).toBe(liveChannel('anomaly', calls[0].data));
    expect(calls[0].path.startsWith('anomaly/hotend/')).toBe(true);
  });

  it('sends an InfluxQL query to the backend even if it says live', () => {
    ds.query(request({ refId: 'A', queryType: 'influxql', live: true, influxql: 'SELECT * FROM "temperatures"' })).subscribe();
    expect(getDataStream).not.toHaveBeenCalled();
    expect(backendQuery).toHaveBeenCalledWith(expect.objectContaining({ targets: [expect.objectContaining({ refId: 'A', queryType: 'influxql' })] }));
  });

  it('queries the backend when nothing is live', () => {
    ds.query(request({ refId: 'A', queryType: 'ttest', measurement: 'temperatures', fields: ['hotend'] })).subscribe();
    expect(getDataStream).not.toHaveBeenCalled();
    expect(backendQuery).toHaveBeenCalledTimes(1);
  });

  it.each<[string, Omit<VigilQuery, 'refId'>, boolean]>([
    ['ttest without fields', { queryType: 'ttest', measurement: 'm', fields: [] }, false],
    ['ttest with a field', { queryType: 'ttest', measurement: 'm', fields: ['f'] }, true],
    ['flux blank', { queryType: 'flux', flux: ' ' }, false],
    ['alerts', { queryType: 'alerts' }, true],
    ['alerts hidden', { queryType: 'alerts', hide: true }, false],
    ['influxql without a statement', { queryType: 'influxql' }, false],
    ['influxql empty', { queryType: 'influxql', influxql: '' }, false],
    ['influxql blank', { queryType: 'influxql', influxql: ' \n\t' }, false],
    ['influxql with a statement', { queryType: 'influxql', influxql: 'SELECT * FROM "cpu" WHERE $timeFilter' }, true],
    ['influxql hidden', { queryType: 'influxql', influxql: 'SELECT * FROM "cpu"', hide: true }, false],
    ['influxql ignores the t-test fields', { queryType: 'influxql', influxql: 'SHOW MEASUREMENTS', measurement: '', fields: [] }, true],
    ['saved without queryType: a Flux script', { flux: 'buckets()' }, true],
    ['saved without queryType: an InfluxQL statement', { influxql: 'SHOW MEASUREMENTS' }, true],
    ['saved without queryType: power fields', { measurement: 'power', aggregate: 'mean' }, true],
    ['saved without queryType: nothing (t-test by default)', { measurement: 'm' }, false],
  ])('runs only queries that can run: %s', (_name, query, runs) => {
    expect(ds.filterQuery({ refId: 'A', ...query })).toBe(runs);
  });

  it.each<[string, string, string]>([
    [
      'variables in the statement, macros left for the backend',
      'SELECT mean("hotend") FROM "$m" WHERE $timeFilter GROUP BY time($__interval)',
      'SELECT mean("hotend") FROM "temperatures" WHERE $timeFilter GROUP BY time($__interval)',
    ],
    ['a multi-value variable in the default format', 'SELECT $field FROM "x" WHERE time > now() - $__interval_ms', 'SELECT {hotend,bed} FROM "x" WHERE time > now() - $__interval_ms'],
    ['no variables', 'SHOW MEASUREMENTS', 'SHOW MEASUREMENTS'],
  ])('replaces variables in an InfluxQL statement: %s', (_name, influxql, want) => {
    const q = ds.applyTemplateVariables({ refId: 'A', queryType: 'influxql', bucket: 'printer/autogen', influxql }, {});
    expect(q.influxql).toBe(want);
    expect(q.queryType).toBe('influxql');
    expect(q.bucket).toBe('printer/autogen');
  });

  it('replaces variables in a Flux script and leaves an absent statement absent', () => {
    const q = ds.applyTemplateVariables({ refId: 'A', queryType: 'flux', flux: 'from(bucket: "$m")' }, {});
    expect(q.flux).toBe('from(bucket: "temperatures")');
    expect(q.influxql).toBeUndefined();
  });
});

describe('metricFindQuery', () => {
  it('lists numeric fields, tag values and measurements from the resources', async () => {
    const getResource = jest.fn((path: string) =>
      Promise.resolve(
        ({
          fields: [
            { name: 'hotend', type: 'float' },
            { name: 'state', type: 'string' },
          ],
          'tag-values': ['mk3'],
          measurements: ['temperatures'],
        } as Record<string, unknown>)[path]
      )
    );
    Object.assign(ds, { getResource });
    expect(await ds.metricFindQuery({ kind: 'fields', measurement: '$m' })).toEqual([{ text: 'hotend' }]);
    expect(getResource).toHaveBeenLastCalledWith('fields', { measurement: 'temperatures' });
    expect(await ds.metricFindQuery({ kind: 'tagValues', measurement: 'x', key: 'printer' })).toEqual([{ text: 'mk3' }]);
    expect(await ds.metricFindQuery({ kind: 'measurements' })).toEqual([{ text: 'temperatures' }]);
  });
});
