import { DataSourceInstanceSettings, ScopedVars } from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

import { DEFAULT_QUERY, VigilOptions, VigilQuery } from './types';

export class DataSource extends DataSourceWithBackend<VigilQuery, VigilOptions> {
  /** Bucket that queries naming none read; shown as the bucket placeholder. */
  readonly defaultBucket: string;

  constructor(instanceSettings: DataSourceInstanceSettings<VigilOptions>) {
    super(instanceSettings);
    this.defaultBucket = instanceSettings.jsonData.defaultBucket ?? '';
  }

  getDefaultQuery(): Partial<VigilQuery> {
    return DEFAULT_QUERY;
  }

  /** Skips hidden queries and Flux queries with no script. */
  filterQuery(query: VigilQuery): boolean {
    if (query.hide) {
      return false;
    }
    return query.queryType !== 'flux' || !!query.flux?.trim();
  }

  /** Replaces dashboard variables in the query's strings before it is sent. */
  applyTemplateVariables(query: VigilQuery, scopedVars: ScopedVars): VigilQuery {
    const templateSrv = getTemplateSrv();
    return {
      ...query,
      bucket: query.bucket ? templateSrv.replace(query.bucket, scopedVars) : query.bucket,
      flux: query.flux ? templateSrv.replace(query.flux, scopedVars) : query.flux,
    };
  }
}
