// Inline checks for the config editor. They mirror the backend's rules in
// pkg/models/settings.go, which stay the authority: the backend re-checks
// everything and its message is what "Save & test" shows.

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
export function bucketError(bucket: string | undefined): string | undefined {
  return (bucket ?? '').trim() === ''
    ? 'Name the bucket that queries read by default (InfluxDB 1.8: database/retention-policy, e.g. printer/autogen)'
    : undefined;
}

const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d|w|M|y))+$/;

/** A dashboard variable is checked by the backend once it is replaced. */
const isVariable = (text: string) => text.includes('$');

/** Returns why window is not a positive duration such as 5m. */
export function windowError(window: string | undefined): string | undefined {
  const value = (window ?? '').trim();
  if (value === '' || isVariable(value)) {
    return undefined;
  }
  if (!DURATION.test(value)) {
    return 'Write a duration such as 30s, 5m or 1h';
  }
  if (!/[1-9]/.test(value)) {
    return 'The window must be longer than zero';
  }
  return undefined;
}

/** Returns why alpha is not a significance level in (0, 1). */
export function alphaError(alpha: number | undefined): string | undefined {
  if (alpha === undefined) {
    return undefined;
  }
  if (!Number.isFinite(alpha) || alpha <= 0 || alpha >= 1) {
    return 'Alpha must be between 0 and 1 (exclusive), e.g. 0.001';
  }
  return undefined;
}

/** Returns why history is not a whole number of points from 2. */
export function historyError(history: number | undefined): string | undefined {
  if (history === undefined) {
    return undefined;
  }
  if (!Number.isInteger(history) || history < 2 || history > 10_000_000) {
    return 'History must be a whole number of points from 2 to 10000000';
  }
  return undefined;
}
