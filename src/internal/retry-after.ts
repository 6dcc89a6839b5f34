// Parsing of the HTTP Retry-After header (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.

const DELTA_SECONDS = /^\d+$/;
// Every HTTP-date form (IMF-fixdate, RFC 850, asctime) starts with a day name;
// Date.parse alone would also take things like "12" or "2024" as a date.
const DAY_NAME = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)/i;
const HAS_ZONE = /(?:GMT|UTC|Z|[+-]\d{4})$/i;

/**
 * The wait a `Retry-After` value asks for, in ms: delta-seconds × 1000, or the
 * time until an HTTP-date (0 for a date in the past). `undefined` for a missing
 * or malformed value, which means "no hint": use the backoff.
 */
export function parseRetryAfter(value: string | null, nowMs: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (DELTA_SECONDS.test(text)) return Number(text) * 1000;
  if (!DAY_NAME.test(text)) return undefined;
  // asctime carries no zone; HTTP-dates are always GMT, whatever the local zone.
  const at = Date.parse(HAS_ZONE.test(text) ? text : `${text} GMT`);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
