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
