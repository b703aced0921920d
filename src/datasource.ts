import { DataSourceInstanceSettings, ScopedVars } from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

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
