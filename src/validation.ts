// Inline checks for the editors. Settings checks mirror pkg/models/settings.go;
// query checks read validation.json, as the backend does, and
// validation.cases.json holds the inputs both must judge alike. The backend
// re-checks everything and its message is what a query or "Save & test" shows.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

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
 * it (pkg/models/live.go, rules in validation.json): <queryType>/<label>/<hash>,
 * the hash covering every key that shapes the stream, so that two queries
 * share a channel only when they are the same query.
 */
export function liveChannel(queryType: 'ttest' | 'kafka' | 'power', data: Record<string, unknown>): string {
  const identity = Object.fromEntries(rules.liveChannel.identity.filter((k) => k in data).map((k) => [k, data[k]]));
  const fields = data.fields as unknown[] | undefined;
  const label = (queryType === 'power' ? data.measurement : fields?.[0]) ?? '';
  const chars = Array.from(typeof label === 'string' ? label : '').slice(0, rules.liveChannel.labelMax);
  const safe = chars.map((c) => (/^[A-Za-z0-9_.-]$/.test(c) ? c : '_')).join('') || '_';
  return `${queryType}/${safe}/${identityHash(canonicalJSON(identity))}`;
}
