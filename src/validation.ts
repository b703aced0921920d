// Inline checks for the editors. Settings checks mirror pkg/models/settings.go;
// query checks read validation.json, as the backend does, and
// validation.cases.json holds the inputs both must judge alike. The backend
// re-checks everything and its message is what a query or "Save & test" shows.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

import defaults from './defaults.json';
import type { VigilQuery } from './types';
import rules from './validation.json';

/** Returns why url cannot be an InfluxDB base URL, or undefined when it can. */
export function urlError(url: string | undefined): string | undefined {
  const value = (url ?? '').trim();
  if (value === '') {
    return 'Enter the InfluxDB base URL, e.g. http://localhost:8086';
  }
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return 'Not a valid URL: enter the InfluxDB base URL, e.g. http://localhost:8086';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return 'The URL must start with http:// or https://';
  }
  if (parsed.username || parsed.password) {
    return 'Put credentials in the token, not in the URL';
  }
  if (parsed.search || parsed.hash) {
    return 'Enter only the base URL, without a query string or fragment';
  }
  return undefined;
}

/** Returns why a number setting is unusable; empty means "use the default". */
export function positiveNumberError(value: number | undefined, unit: string, whole = false): string | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (!Number.isFinite(value)) {
    return `Must be a number of ${unit}`;
  }
  if (value < 0) {
    return `Must be positive (number of ${unit}); leave it empty for the default`;
  }
  if (whole && !Number.isInteger(value)) {
    return `Must be a whole number of ${unit}`;
  }
  return undefined;
}

/** Returns why the default bucket is unusable. */
/** A comma-separated host:port list of Kafka brokers (empty: no Kafka), as pkg/models checks it. */
export function brokersError(brokers: string | undefined): string | undefined {
  for (const b of (brokers ?? '').split(',')) {
    const broker = b.trim();
    const m = /^(.+):(\d+)$/.exec(broker);
    if (broker !== '' && (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)) {
      return `"${broker}" is not host:port, e.g. localhost:9092 (separate brokers with commas)`;
    }
  }
  return undefined;
}

export function bucketError(bucket: string | undefined): string | undefined {
  return (bucket ?? '').trim() === ''
    ? 'Name the bucket that queries read by default (InfluxDB 1.8: database/retention-policy, e.g. printer/autogen)'
    : undefined;
}

/** A dashboard variable is checked by the backend once it is replaced. */
const isVariable = (text: string) => text.includes('$');

/**
 * Reads a duration in the syntax of validation.json, exactly as the backend
 * (pkg/models/duration.go) does: one or more <number><unit> terms such as
 * 5m, 1h30m or 1.5d, each truncated to whole nanoseconds. Returns the
 * nanoseconds, or why the text is not a duration.
 */
export function parseDuration(text: string): bigint | string {
  const units: Record<string, number> = rules.duration.unitsNs;
  const term = /^(\d+)(?:\.(\d+))?(\D+)/;
  let total = BigInt(0);
  let rest = text;
  if (rest === '') {
    return 'is empty';
  }
  while (rest !== '') {
    const m = term.exec(rest);
    if (!m) {
      return /^\d/.test(rest) ? 'needs a unit after each number' : 'must start each part with a number';
    }
    const [whole, frac = '', unit] = [m[1], m[2], m[3]];
    if (frac.length > rules.duration.maxFractionDigits) {
      return 'has too many decimals';
    }
    if (!(unit in units)) {
      return 'has an unknown unit';
    }
    total += (BigInt(whole + frac) * BigInt(units[unit])) / BigInt(10) ** BigInt(frac.length);
    rest = rest.slice(m[0].length);
  }
  return total > MAX_DURATION_NS ? 'is too long' : total;
}

const MAX_DURATION_NS = BigInt('9223372036854775807');

/** The longest window (validation.json's window.max, which the backend reads too). */
const MAX_WINDOW_NS = parseDuration(rules.window.max) as bigint;

/** Returns why window is not a positive duration such as 5m. */
export function windowError(window: string | undefined): string | undefined {
  const value = (window ?? '').trim();
  if (value === '' || isVariable(value)) {
    return undefined;
  }
  const ns = parseDuration(value);
  if (typeof ns === 'string') {
    return `Not a duration: it ${ns}; write e.g. 30s, 5m, 1h30m or 1.5d`;
  }
  if (ns === BigInt(0)) {
    return 'The window must be longer than zero';
  }
  if (ns > MAX_WINDOW_NS) {
    return `The window must be at most ${rules.window.max}`;
  }
  return undefined;
}

/** Returns why alpha is not a significance level in (0, 1). */
export function alphaError(alpha: number | undefined): string | undefined {
  if (alpha === undefined) {
    return undefined;
  }
  const { above, below } = rules.alpha;
  if (!Number.isFinite(alpha) || alpha <= above || alpha >= below) {
    return `Alpha must be between ${above} and ${below} (exclusive), e.g. 0.001`;
  }
  return undefined;
}

/** Returns why history is not a whole number of points in the allowed range. */
export function historyError(history: number | undefined): string | undefined {
  if (history === undefined) {
    return undefined;
  }
  const { min, max } = rules.history;
  if (!Number.isInteger(history) || history < min || history > max) {
    return `History must be a whole number of points from ${min} to ${max}`;
  }
  return undefined;
}

/** Returns why value is not one of a choice field's options. */
export function optionError(field: keyof typeof rules.options, value: string): string | undefined {
  const options: string[] = rules.options[field];
  return options.includes(value) ? undefined : `Use one of ${options.join(', ')}`;
}

/** A setting that only some detectors read (validation.json anomaly.uses). */
export type AnomalySetting = keyof typeof rules.anomaly.uses;

/** Whether the detector reads the setting: the editor shows only those, and the backend ignores the others once checked. */
export function detectorUses(detector: string, setting: AnomalySetting): boolean {
  return (rules.anomaly.uses[setting] as string[]).includes(detector);
}

/** Returns why threshold is not a finite number above validation.json's anomaly.thresholdAbove. */
export function thresholdError(threshold: number | undefined): string | undefined {
  if (threshold === undefined || threshold === null) {
    return undefined;
  }
  const above = rules.anomaly.thresholdAbove;
  return Number.isFinite(threshold) && threshold > above
    ? undefined
    : `The threshold must be a number above ${above}, e.g. 3; leave it empty for the detector's default`;
}

/** The seasons (validation.json options.season) in nanoseconds. */
const SEASONS_NS = rules.options.season.map((s) => parseDuration(s) as bigint);

/** Returns why season is not one of the seasons, compared as durations (24h is 1d). */
export function seasonError(season: string | undefined): string | undefined {
  const value = (season ?? '').trim();
  if (value === '' || isVariable(value)) {
    return undefined;
  }
  const ns = parseDuration(value);
  return typeof ns !== 'string' && SEASONS_NS.includes(ns) ? undefined : `Use a season of ${rules.options.season.join(' or ')}`;
}

/**
 * Returns why the window cannot step through the season, as the backend
 * checks it for a detector that reads the season: the window must divide it
 * into anomaly.minSeasonPositions to maxSeasonPositions windows. Empty
 * values are the defaults; invalid ones are reported by windowError and
 * seasonError.
 */
export function seasonWindowError(season: string | undefined, window: string | undefined): string | undefined {
  const s = (season ?? '').trim() || defaults.query.anomaly.season;
  const w = (window ?? '').trim() || defaults.query.window;
  if (isVariable(s) || isVariable(w) || seasonError(s) || windowError(w)) {
    return undefined;
  }
  const seasonNs = parseDuration(s) as bigint;
  const windowNs = parseDuration(w) as bigint;
  if (seasonNs / windowNs < BigInt(rules.anomaly.minSeasonPositions)) {
    return `The window must fit at least ${rules.anomaly.minSeasonPositions} times in the season (${s}), e.g. 5m or 1h`;
  }
  if (seasonNs % windowNs !== BigInt(0)) {
    return `The window must divide the season (${s}) into whole windows, e.g. 5m, 15m or 1h`;
  }
  const max = BigInt(rules.anomaly.maxSeasonPositions);
  if (seasonNs / windowNs > max) {
    return `The window gives ${seasonNs / windowNs} windows per season (${s}), more than ${max}: use a longer window`;
  }
  return undefined;
}

/** Returns why seasons is not a whole number of seasons in the allowed range. */
export function seasonsError(seasons: number | undefined): string | undefined {
  if (seasons === undefined || seasons === null) {
    return undefined;
  }
  const { min, max } = rules.anomaly.seasons;
  return Number.isInteger(seasons) && seasons >= min && seasons <= max ? undefined : `Seasons must be a whole number from ${min} to ${max}`;
}

/** The number of windows per season, or undefined when season or window is not usable (empty: the defaults). */
function seasonPositions(season: string | undefined, window: string | undefined): bigint | undefined {
  const s = (season ?? '').trim() || defaults.query.anomaly.season;
  const w = (window ?? '').trim() || defaults.query.window;
  if (isVariable(s) || isVariable(w) || seasonError(s) || windowError(w)) {
    return undefined;
  }
  return (parseDuration(s) as bigint) / (parseDuration(w) as bigint);
}

/**
 * Returns why a seasonal baseline of seasons x windows per season would
 * keep more than anomaly.maxSeasonalValues window means per series.
 */
export function seasonalValuesError(seasons: number | undefined, season: string | undefined, window: string | undefined): string | undefined {
  const n = seasons ?? defaults.query.anomaly.seasons;
  const positions = seasonPositions(season, window);
  if (seasonsError(n) || positions === undefined || positions === BigInt(0)) {
    return undefined;
  }
  const max = BigInt(rules.anomaly.maxSeasonalValues);
  return BigInt(n) * positions > max
    ? `${n} seasons of ${positions} windows are more than ${max} window means: use at most ${max / positions} seasons, or a longer window`
    : undefined;
}

/** Returns why minDeviation is not a finite number of at least anomaly.minDeviationMin. */
export function minDeviationError(minDeviation: number | undefined): string | undefined {
  if (minDeviation === undefined || minDeviation === null) {
    return undefined;
  }
  const min = rules.anomaly.minDeviationMin;
  return Number.isFinite(minDeviation) && minDeviation >= min
    ? undefined
    : `The minimum deviation must be a number of at least ${min}, in the series' own units`;
}

/** Returns why a Holt-Winters smoothing parameter is neither 0 (fitted) nor strictly between anomaly.smoothing's bounds. */
export function smoothingError(value: number | undefined): string | undefined {
  if (value === undefined || value === null || value === 0) {
    return undefined;
  }
  const { above, below } = rules.anomaly.smoothing;
  return Number.isFinite(value) && value > above && value < below
    ? undefined
    : `Must be between ${above} and ${below} (exclusive), or empty to fit it on the warm-up`;
}

/**
 * Returns, per Holt-Winters smoothing setting, why it cannot be used: each is
 * 0 (or empty) or inside anomaly.smoothing's bounds, and, for a detector
 * that reads them, the three are given together or not at all (they are
 * fitted together on the warm-up), else the first one given is named.
 */
export function smoothingErrors(
  detector: string,
  values: { hwAlpha?: number; hwBeta?: number; hwGamma?: number }
): Partial<Record<'hwAlpha' | 'hwBeta' | 'hwGamma', string>> {
  const names = ['hwAlpha', 'hwBeta', 'hwGamma'] as const;
  const errors: Partial<Record<(typeof names)[number], string>> = {};
  for (const name of names) {
    const err = smoothingError(values[name]);
    if (err) {
      errors[name] = err;
    }
  }
  const given = names.filter((name) => (values[name] ?? 0) !== 0);
  const missing = names.filter((name) => !given.includes(name));
  if (Object.keys(errors).length === 0 && given.length > 0 && missing.length > 0 && detectorUses(detector, 'hwAlpha')) {
    // On the first one given, as the backend names it.
    errors[given[0]] = `Fitted together with the other two: give ${missing.join(' and ')} too, or leave all three empty to fit them on the warm-up`;
  }
  return errors;
}

/** Returns why the detector does not give output (anomaly.outputs: pvalue and t are the t-test's). */
export function anomalyOutputError(detector: string, output: string): string | undefined {
  const only: string[] | undefined = (rules.anomaly.outputs as Record<string, string[]>)[output];
  const options = optionError('anomalyOutput', output);
  if (options || !only || only.includes(detector)) {
    return options;
  }
  return `${output} is given only by the ${only.join(', ')} detector: use score, anomaly, expected or band`;
}

/** Returns why mode does not suit the detector (anomaly.pointsOnly: mad needs every point). */
export function anomalyModeError(detector: string, mode: string): string | undefined {
  const options = optionError('mode', mode);
  if (options || mode !== 'windows' || !rules.anomaly.pointsOnly.includes(detector)) {
    return options;
  }
  return `The ${detector} detector needs every point: use auto or points`;
}

/** The fields of an anomaly query that anomalyErrors checks. */
export type AnomalyField =
  | 'detector'
  | 'window'
  | 'history'
  | 'alpha'
  | 'output'
  | 'mode'
  | 'threshold'
  | 'season'
  | 'seasons'
  | 'minDeviation'
  | 'direction'
  | 'hwAlpha'
  | 'hwBeta'
  | 'hwGamma';

/**
 * An anomaly query's settings checked as the backend checks them
 * (pkg/models parseAnomaly; validation.cases.json's anomaly cases hold
 * inputs both must judge alike): per field, why it cannot be used. Empty
 * settings are the defaults (defaults.json); settings the detector does
 * not read are checked too, but not against the window.
 */
export function anomalyErrors(query: VigilQuery): Partial<Record<AnomalyField, string>> {
  const a = defaults.query.anomaly;
  const detector = query.detector || a.detector;
  const errors: Partial<Record<AnomalyField, string | undefined>> = {
    detector: optionError('detector', detector),
    window: windowError(query.window) ?? (detectorUses(detector, 'season') ? seasonWindowError(query.season, query.window) : undefined),
    history: historyError(query.history),
    alpha: alphaError(query.alpha),
    output: anomalyOutputError(detector, query.output || a.output),
    mode: anomalyModeError(detector, query.mode || defaults.query.mode),
    threshold: thresholdError(query.threshold),
    season: seasonError(query.season),
    seasons:
      seasonsError(query.seasons) ??
      (detectorUses(detector, 'seasons') ? seasonalValuesError(query.seasons, query.season, query.window) : undefined),
    minDeviation: minDeviationError(query.minDeviation),
    direction: optionError('direction', query.direction || a.direction),
    ...smoothingErrors(detector, query),
  };
  return Object.fromEntries(Object.entries(errors).filter(([, v]) => v !== undefined));
}

/** Sorts strings by code point, as Go sorts UTF-8 keys. */
function byCodePoint(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) {
      return d;
    }
  }
  return x.length - y.length;
}

/**
 * JSON with object keys sorted by code point and no spaces, as the backend
 * writes a query's identity (pkg/models CanonicalJSON): every key and value
 * quoted and escaped, so no name can pass for a separator.
 */
function canonicalJSON(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJSON).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => byCodePoint(a, b));
    return `{${entries.map(([k, v]) => `${canonicalJSON(k)}:${canonicalJSON(v)}`).join(',')}}`;
  }
  // Go's encoder also escapes the line and paragraph separators.
  return JSON.stringify(value).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** The identity hash: SHA-256 of text's UTF-8 bytes, its first 128 bits as 32 hex digits (pkg/models IdentityHash). */
function identityHash(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)).subarray(0, 16));
}

/**
 * The Live channel path of a subscription's data, as the backend computes
 * it (pkg/models/live.go, rules in validation.json): <queryType>/<label>/<hash>
 * (label: the first field, or the measurement for power),
 * the hash covering every key that shapes the stream, so that two queries
 * share a channel only when they are the same query.
 */
export function liveChannel(queryType: 'ttest' | 'kafka' | 'anomaly' | 'power', data: Record<string, unknown>): string {
  const identity = Object.fromEntries(rules.liveChannel.identity.filter((k) => k in data).map((k) => [k, data[k]]));
  const fields = data.fields as unknown[] | undefined;
  const label = (queryType === 'power' ? data.measurement : fields?.[0]) ?? '';
  const chars = Array.from(typeof label === 'string' ? label : '').slice(0, rules.liveChannel.labelMax);
  const safe = chars.map((c) => (/^[A-Za-z0-9_.-]$/.test(c) ? c : '_')).join('') || '_';
  return `${queryType}/${safe}/${identityHash(canonicalJSON(identity))}`;
}
