/** IMF-fixdate (RFC 9110 section 5.6.7) of a time in ms; HTTP dates have whole seconds. */
export function httpDate(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toUTCString();
}

/** Seconds since the epoch of an HTTP date, or undefined when it does not parse. */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}
