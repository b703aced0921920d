import {
  DataQueryRequest,
  DataQueryResponse,
  DataSourceInstanceSettings,
  LiveChannelScope,
  ScopedVars,
} from '@grafana/data';
import { DataSourceWithBackend, getGrafanaLiveSrv, getTemplateSrv } from '@grafana/runtime';
import { merge, Observable } from 'rxjs';

import { DEFAULT_QUERY, VigilOptions, VigilQuery } from './types';

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
   * Live t-test queries subscribe to one Grafana Live channel per field
   * (ds/<uid>/ttest/<measurement>/<field>, the query as the subscription's
   * data); the backend sends the recent windows, then each window as it
   * completes. Every other query goes to the backend as usual.
   */
  query(request: DataQueryRequest<VigilQuery>): Observable<DataQueryResponse> {
    const live = request.targets.filter((t) => t.live && !t.hide && (t.queryType ?? 'ttest') === 'ttest');
    if (live.length === 0) {
      return super.query(request);
    }
    const streams = live.flatMap((target) => {
      const q = this.applyTemplateVariables(target, request.scopedVars);
      return (q.fields ?? []).map((field) =>
        getGrafanaLiveSrv().getDataStream({
          key: `${request.requestId}-${target.refId}-${field}`,
          addr: {
            scope: LiveChannelScope.DataSource,
            // Grafana 10 reads namespace, 11 and later stream: give both.
            namespace: this.uid,
            stream: this.uid,
            path: `ttest/${q.measurement}/${field}`,
            data: { ...q, fields: [field] },
          },
        })
      );
    });
    const rest = request.targets.filter((t) => !live.includes(t));
    return rest.length > 0 ? merge(...streams, super.query({ ...request, targets: rest })) : merge(...streams);
  }

  /** Skips hidden queries and queries that cannot run yet. */
  filterQuery(query: VigilQuery): boolean {
    if (query.hide) {
      return false;
    }
    switch (query.queryType) {
      case 'flux':
        return !!query.flux?.trim();
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
      window: replace(query.window),
      activePower: replace(query.activePower),
      subMeters: query.subMeters?.map((m) => templateSrv.replace(m, scopedVars)),
      tags,
      fields,
    };
  }
}
