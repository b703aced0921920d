import {
  DataQueryRequest,
  MetricFindValue,
  DataQueryResponse,
  DataSourceInstanceSettings,
  LiveChannelScope,
  ScopedVars,
} from '@grafana/data';
import { DataSourceWithBackend, getGrafanaLiveSrv, getTemplateSrv } from '@grafana/runtime';
import { merge, Observable } from 'rxjs';

import { liveChannel } from './validation';
import { DEFAULT_QUERY, queryTypeOf, VigilOptions, VigilQuery, VigilQueryType, VigilVariableQuery } from './types';

/** The query types that can stream through Grafana Live. */
const STREAMING: VigilQueryType[] = ['ttest', 'kafka', 'anomaly'];

/** Whether a query streams: Live set, on a type that streams (an anomaly query over InfluxDB only: the backend refuses one over a topic). */
function isLive(t: VigilQuery): boolean {
  const type = queryTypeOf(t);
  return Boolean(t.live) && !t.hide && STREAMING.includes(type) && !(type === 'anomaly' && t.topic);
}

export class DataSource extends DataSourceWithBackend<VigilQuery, VigilOptions> {
  /** Bucket that queries naming none read; shown as the bucket placeholder. */
  readonly defaultBucket: string;

  constructor(instanceSettings: DataSourceInstanceSettings<VigilOptions>) {
    super(instanceSettings);
    this.defaultBucket = instanceSettings.jsonData.defaultBucket ?? '';
    // Annotation queries use the same editor and backend; frames with time,
    // timeEnd, title, text and tags fields become annotations.
    this.annotations = {};
  }

  getDefaultQuery(): Partial<VigilQuery> {
    return DEFAULT_QUERY;
  }

  /**
   * Live t-test, kafka and anomaly (over InfluxDB) queries subscribe to one Grafana Live channel per
   * field (ds/<uid>/<type>/<field>/<hash of the query>, the query as the
   * subscription's data); the backend sends the recent windows, then each window as it
   * completes. Every other query goes to the backend as usual.
   */
  query(request: DataQueryRequest<VigilQuery>): Observable<DataQueryResponse> {
    const live = request.targets.filter(isLive);
    if (live.length === 0) {
      return super.query(request);
    }
    const streams = live.flatMap((target) => {
      const q = this.applyTemplateVariables(target, request.scopedVars);
      const type = queryTypeOf(target) as 'ttest' | 'kafka' | 'anomaly';
      return (q.fields ?? []).map((field) => {
        const data = { ...q, queryType: type, fields: [field] };
        return getGrafanaLiveSrv().getDataStream({
          key: `${request.requestId}-${target.refId}-${field}`,
          addr: {
            scope: LiveChannelScope.DataSource,
            // Grafana 10 reads namespace, 11 and later stream: give both.
            namespace: this.uid,
            stream: this.uid,
            path: liveChannel(type, data),
            data,
          },
        });
      });
    });
    const rest = request.targets.filter((t) => !live.includes(t));
    return rest.length > 0 ? merge(...streams, super.query({ ...request, targets: rest })) : merge(...streams);
  }

  /** Lists measurements, numeric fields or tag values for a template variable. */
  async metricFindQuery(query: VigilVariableQuery, options?: { scopedVars?: ScopedVars }): Promise<MetricFindValue[]> {
    const replace = (text?: string) => (text ? getTemplateSrv().replace(text, options?.scopedVars) : undefined);
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries({ bucket: replace(query.bucket), measurement: replace(query.measurement), key: replace(query.key) })) {
      if (v) {
        params[k] = v;
      }
    }
    switch (query.kind) {
      case 'fields': {
        const fields: Array<{ name: string; type: string }> = await this.getResource('fields', params);
        return fields.filter((f) => f.type === 'float' || f.type === 'integer').map((f) => ({ text: f.name }));
      }
      case 'tagValues': {
        const values: string[] = await this.getResource('tag-values', params);
        return values.map((text) => ({ text }));
      }
      default: {
        const names: string[] = await this.getResource('measurements', params);
        return names.map((text) => ({ text }));
      }
    }
  }

  /** Skips hidden queries and queries that cannot run yet. */
  filterQuery(query: VigilQuery): boolean {
    if (query.hide) {
      return false;
    }
    switch (queryTypeOf(query)) {
      case 'flux':
        return !!query.flux?.trim();
      case 'influxql':
        return !!query.influxql?.trim();
      case 'alerts':
        return true;
      case 'power':
        return !!query.measurement?.trim();
    }
    return !!query.measurement?.trim() && (query.fields ?? []).some((f) => f.trim() !== '');
  }

  /** Replaces dashboard variables in every string of the query before it is sent. */
  applyTemplateVariables(query: VigilQuery, scopedVars: ScopedVars): VigilQuery {
    const templateSrv = getTemplateSrv();
    const replace = (text?: string) => (text ? templateSrv.replace(text, scopedVars) : text);
    const tags = query.tags
      ? Object.fromEntries(Object.entries(query.tags).map(([k, v]) => [replace(k) ?? k, replace(v) ?? v]))
      : query.tags;
    // A multi-value variable in fields becomes one field per value.
    const fields = query.fields?.flatMap((f) =>
      templateSrv
        .replace(f, scopedVars, 'csv')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    );
    return {
      ...query,
      bucket: replace(query.bucket),
      measurement: replace(query.measurement),
      flux: replace(query.flux),
      influxql: replace(query.influxql),
      window: replace(query.window),
      activePower: replace(query.activePower),
      subMeters: query.subMeters?.map((m) => templateSrv.replace(m, scopedVars)),
      tags,
      fields,
    };
  }
}
