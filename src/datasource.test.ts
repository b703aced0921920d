import { DataQueryRequest, DataSourceInstanceSettings, LiveChannelScope } from '@grafana/data';
import { of } from 'rxjs';

import { DataSource } from './datasource';
import { VigilOptions, VigilQuery } from './types';

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
    replace: (text: string, _vars: unknown, format?: string) => {
      const vars: Record<string, string[]> = { $field: ['hotend', 'bed'], $m: ['temperatures'] };
      const v = vars[text];
      if (!v) {
        return text;
      }
      if (v.length === 1) {
        return v[0];
      }
      return format === 'csv' ? v.join(',') : `{${v.join(',')}}`;
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

  it('subscribes a live t-test to one channel per field and sends the rest to the backend', () => {
    ds.query(
      request(
        { refId: 'A', queryType: 'ttest', live: true, measurement: 'temperatures', fields: ['hotend', 'bed'] },
        { refId: 'B', queryType: 'power', measurement: 'power' }
      )
    ).subscribe();
    expect(getDataStream).toHaveBeenCalledTimes(2);
    expect(getDataStream).toHaveBeenCalledWith(
      expect.objectContaining({
        addr: expect.objectContaining({
          scope: LiveChannelScope.DataSource,
          namespace: 'vigil',
          stream: 'vigil',
          path: 'ttest/temperatures/bed',
          data: expect.objectContaining({ fields: ['bed'], measurement: 'temperatures' }),
        }),
      })
    );
    expect(backendQuery).toHaveBeenCalledWith(expect.objectContaining({ targets: [expect.objectContaining({ refId: 'B' })] }));
  });

  it('queries the backend when nothing is live', () => {
    ds.query(request({ refId: 'A', queryType: 'ttest', measurement: 'temperatures', fields: ['hotend'] })).subscribe();
    expect(getDataStream).not.toHaveBeenCalled();
    expect(backendQuery).toHaveBeenCalledTimes(1);
  });

  it('runs only queries that can run', () => {
    expect(ds.filterQuery({ refId: 'A', queryType: 'ttest', measurement: 'm', fields: [] })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', queryType: 'ttest', measurement: 'm', fields: ['f'] })).toBe(true);
    expect(ds.filterQuery({ refId: 'A', queryType: 'flux', flux: ' ' })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', queryType: 'alerts' })).toBe(true);
    expect(ds.filterQuery({ refId: 'A', queryType: 'alerts', hide: true })).toBe(false);
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
