import { DataQuery, DataSourceJsonData } from '@grafana/data';

import defaults from './defaults.json';

/** The query types the backend answers (queryType in the query JSON). */
export type VigilQueryType = 'flux';

/** A Vigil query as dashboards, alert rules and the backend see it (see the README). */
export interface VigilQuery extends DataQuery {
  queryType?: VigilQueryType;
  /** Bucket to read; the data source's default bucket when empty. */
  bucket?: string;
  /** Raw Flux script (queryType "flux"). */
  flux?: string;
}

/** Non-secret data source settings (jsonData). */
export interface VigilOptions extends DataSourceJsonData {
  organization?: string;
  defaultBucket?: string;
  /** Seconds. */
  timeout?: number;
  maxPoints?: number;
}

/** Secret settings (secureJsonData); Grafana never sends them back to the browser. */
export interface VigilSecureJsonData {
  token?: string;
}

export const DEFAULT_SETTINGS = defaults.settings;

export const DEFAULT_QUERY: Partial<VigilQuery> = {
  queryType: defaults.query.queryType as VigilQueryType,
  flux: defaults.query.flux,
};
