import { DataQuery, DataSourceJsonData } from '@grafana/data';

import defaults from './defaults.json';

/** The query types the backend answers (queryType in the query JSON). */
export type VigilQueryType = 'ttest' | 'kafka' | 'anomaly' | 'power' | 'alerts' | 'flux' | 'influxql';

export type TTestOutput = 'pvalue' | 't' | 'anomaly';
/** The anomaly query's outputs (validation.json options.anomalyOutput); pvalue and t with the ttest detector only. */
export type AnomalyOutput = 'score' | 'anomaly' | 'expected' | 'band' | 'pvalue' | 't';
/** The anomaly query's detectors (validation.json options.detector). */
export type AnomalyDetector = 'ttest' | 'zscore' | 'mad' | 'seasonal' | 'holtwinters' | 'peers';
export type AnomalyDirection = 'both' | 'above' | 'below';
export type TTestMode = 'auto' | 'points' | 'windows';
export type PowerAggregate = 'auto' | 'none' | 'mean' | 'max' | 'sum';
export type AlertsFormat = 'table' | 'annotations';
export type KafkaFormat = 'line' | 'json';
export type KafkaSaslMechanism = '' | 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** A Vigil query as dashboards, alert rules and the backend see it (see the README). */
export interface VigilQuery extends DataQuery {
  queryType?: VigilQueryType;
  /** Bucket to read; the data source's default bucket when empty. */
  bucket?: string;
  measurement?: string;
  /** Tag equality filters. */
  tags?: Record<string, string>;
  /** Raw Flux script (queryType "flux"). */
  flux?: string;
  /**
   * Raw InfluxQL statement (queryType "influxql"), run against `bucket` (db/rp).
   * The backend replaces Grafana's macros $timeFilter, $__interval and
   * $__interval_ms; the front end replaces template variables.
   */
  influxql?: string;
  /** t-test: one series per field. */
  fields?: string[];
  /** t-test window, a duration such as 5m. */
  window?: string;
  /** t-test history size in points. */
  history?: number;
  /** t-test significance level. */
  alpha?: number;
  /** t-test and kafka: TTestOutput; anomaly: AnomalyOutput. */
  output?: TTestOutput | AnomalyOutput;
  mode?: TTestMode;
  /** t-test: stream windows live through Grafana Live instead of querying. */
  live?: boolean;
  /** power: field with the active power (kW). */
  activePower?: string;
  /** power: fields with the sub-meters (Wh). */
  subMeters?: string[];
  aggregate?: PowerAggregate;
  /** alerts: table or annotations; ttest: empty (time series) or annotations; kafka: line or json. */
  format?: AlertsFormat | KafkaFormat;
  /** kafka: the topic whose messages are tested (t-test fields as above). */
  topic?: string;
  /** kafka json: dot-separated path to the time (RFC 3339 or Unix ms); default "time". */
  timePath?: string;
  /** kafka json: dot-separated path to the series key; empty: the message key. */
  keyPath?: string;
  /** anomaly: the detector (default ttest); the source is InfluxDB, or the Kafka topic when `topic` is set. */
  detector?: AnomalyDetector;
  /** anomaly: the deviation, in the detector's own scale, at which the score reaches 1 (not ttest: alpha). */
  threshold?: number;
  /** anomaly (seasonal, holtwinters): 1d or 1w; the window must divide it. */
  season?: string;
  /** anomaly (seasonal): past seasons in the baseline. */
  seasons?: number;
  /** anomaly: in the series' units, a window mean closer than this to the expected value is never anomalous. */
  minDeviation?: number;
  direction?: AnomalyDirection;
  /** anomaly (holtwinters): level, trend and season smoothing in (0, 1); 0 or empty: fitted on the warm-up. */
  hwAlpha?: number;
  hwBeta?: number;
  hwGamma?: number;
}

/** A template variable's query: what the variable lists. */
export interface VigilVariableQuery {
  kind: 'measurements' | 'fields' | 'tagValues';
  bucket?: string;
  measurement?: string;
  /** tagValues: the tag key. */
  key?: string;
}

/** Non-secret data source settings (jsonData). */
export interface VigilOptions extends DataSourceJsonData {
  organization?: string;
  defaultBucket?: string;
  /** Seconds. */
  timeout?: number;
  maxPoints?: number;
  /** MiB of t-test state kept between queries. */
  stateMaxMB?: number;
  /** Windows re-read, for late points, when kept state answers. */
  stateHorizonWindows?: number;
  /** v1 user, sent with secureJsonData.password; the alternative to the token. */
  user?: string;
  /** The one bucket the alert-history receiver writes (empty: defaultBucket). */
  alertHistoryBucket?: string;
  /** The one measurement the alert-history receiver writes (default in defaults.json). */
  alertHistoryMeasurement?: string;
  /** Comma-separated host:port list of the Kafka brokers that kafka queries read. */
  kafkaBrokers?: string;
  kafkaClientId?: string;
  kafkaSaslMechanism?: KafkaSaslMechanism;
  /** SASL user, sent with secureJsonData.kafkaPassword. */
  kafkaUser?: string;
  kafkaTls?: boolean;
  /** Seconds (event time) a Kafka Live series may go without a point before it is forgotten. */
  kafkaLiveIdleSeconds?: number;
  /** Seconds a Kafka point may be dated ahead of the clock; further ahead it is left out. */
  kafkaFutureToleranceSeconds?: number;
}

/** Secret settings (secureJsonData); Grafana never sends them back to the browser. */
export interface VigilSecureJsonData {
  token?: string;
  /** v1 password of jsonData.user (InfluxDB 3.x: the database token). */
  password?: string;
  /** SASL password of jsonData.kafkaUser. */
  kafkaPassword?: string;
}

export const DEFAULT_SETTINGS = defaults.settings;

const q = defaults.query;

/** Defaults of a new query; the backend applies the same ones (src/defaults.json). */
export const DEFAULT_QUERY: Partial<VigilQuery> = {
  queryType: q.queryType as VigilQueryType,
  window: q.window,
  history: q.history,
  alpha: q.alpha,
  output: q.output as TTestOutput,
  mode: q.mode as TTestMode,
};

/** Defaults of the anomaly query's settings (its window, history, alpha and mode: DEFAULT_QUERY). */
export const DEFAULT_ANOMALY = {
  detector: q.anomaly.detector as AnomalyDetector,
  output: q.anomaly.output as AnomalyOutput,
  /** Per detector; the ttest detector has none (alpha sets its cut). */
  threshold: q.anomaly.threshold as Partial<Record<AnomalyDetector, number>>,
  season: q.anomaly.season,
  seasons: q.anomaly.seasons,
  minDeviation: q.anomaly.minDeviation,
  direction: q.anomaly.direction as AnomalyDirection,
  hwAlpha: q.anomaly.hwAlpha,
  hwBeta: q.anomaly.hwBeta,
  hwGamma: q.anomaly.hwGamma,
};

/** Whether the query gives a setting only the anomaly query has (pkg/models hasAnomalySettings). */
function hasAnomalySettings(query: VigilQuery): boolean {
  const given = [query.threshold, query.season, query.seasons, query.minDeviation, query.hwAlpha, query.hwBeta, query.hwGamma];
  return Boolean(query.detector) || Boolean(query.direction) || given.some((v) => v !== undefined);
}

/**
 * The query's type: its queryType, else what its fields imply, as the backend
 * infers it for a query saved without one (pkg/models, inferType): a Flux
 * script, an InfluxQL statement, an anomaly setting, a Kafka topic, t-test
 * fields, power fields, else the default.
 */
export function queryTypeOf(query: VigilQuery): VigilQueryType {
  if (query.queryType) {
    return query.queryType;
  }
  if (query.flux?.trim()) {
    return 'flux';
  }
  if (query.influxql?.trim()) {
    return 'influxql';
  }
  if (hasAnomalySettings(query)) {
    return 'anomaly';
  }
  if (query.topic?.trim()) {
    return 'kafka';
  }
  if ((query.fields?.length ?? 0) > 0 || query.window !== undefined || query.alpha !== undefined) {
    return 'ttest';
  }
  if (query.activePower || query.subMeters !== undefined || query.aggregate) {
    return 'power';
  }
  return DEFAULT_QUERY.queryType ?? 'ttest';
}

/** Defaults of the power query's fields. */
export const DEFAULT_POWER = {
  activePower: q.power.activePower,
  subMeters: q.power.subMeters,
  aggregate: q.power.aggregate as PowerAggregate,
};

/** Defaults of the kafka query's message format. */
export const DEFAULT_KAFKA = {
  format: q.kafka.format as KafkaFormat,
  timePath: q.kafka.timePath,
};

/** The script a new Flux query starts with. */
export const DEFAULT_FLUX = q.flux;

/** The statement a new InfluxQL query starts with. */
export const DEFAULT_INFLUXQL = q.influxql;
