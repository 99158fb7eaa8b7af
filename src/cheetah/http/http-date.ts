/**
 * HTTP dates: IMF-fixdate output, and parsing of all three formats a recipient must accept.
 * Pure integer calendar arithmetic (proleptic Gregorian, UTC), no `Date` object, so results do
 * not depend on the host's time zone or `Date` quirks for odd years.
 *
 * Read first: RFC 9110 §5.6.7 (Date/Time Formats), §6.6.1 (Date).
 */
import { latin1Bytes } from './ascii.js';

/** Length of an IMF-fixdate string, e.g. `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7): always 29. */
export const IMF_FIXDATE_LENGTH = 29;

const DAY_NAMES = ['Thu', 'Fri', 'Sat', 'Sun', 'Mon', 'Tue', 'Wed']; // index = days since 1970-01-01 mod 7
const DAY_NAMES_LONG = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** Seconds of 9999-12-31T23:59:59Z, the last instant with a four-digit year. */
const MAX_SECONDS = 253_402_300_799;

/** Days since 1970-01-01 of a civil date (month 1–12). H. Hinnant's days_from_civil. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Civil date of a day count since 1970-01-01. H. Hinnant's civil_from_days. */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/**
 * IMF-fixdate of a time in whole seconds since the epoch, clamped to 1970-01-01 … 9999-12-31
 * (the format has a four-digit year; file times outside it are clamped, not rejected).
 */
export function formatHttpDate(epochSeconds: number): string {
  const s = Math.min(MAX_SECONDS, Math.max(0, Math.floor(epochSeconds)));
  const days = Math.floor(s / 86400);
  const secOfDay = s - days * 86400;
  const { year, month, day } = civilFromDays(days);
  const hh = Math.floor(secOfDay / 3600);
  const mm = Math.floor((secOfDay % 3600) / 60);
  const ss = secOfDay % 60;
  return `${DAY_NAMES[days % 7]!}, ${pad2(day)} ${MONTHS[month - 1]!} ${String(year).padStart(4, '0')} ${pad2(hh)}:${pad2(mm)}:${pad2(ss)} GMT`;
}

/** Cursor over a date string; every reader returns NaN/false on mismatch so parsing never throws. */
class Cursor {
  pos = 0;
  constructor(readonly s: string) {}
  lit(t: string): boolean {
    if (!this.s.startsWith(t, this.pos)) return false;
    this.pos += t.length;
    return true;
  }
  digits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const c = this.s.charCodeAt(this.pos + i) - 0x30;
      if (!(c >= 0 && c <= 9)) return NaN;
      v = v * 10 + c;
    }
    this.pos += n;
    return v;
  }
  oneOf(names: readonly string[]): number {
    for (let i = 0; i < names.length; i++) if (this.lit(names[i]!)) return i;
    return -1;
  }
  /** time-of-day = hour ":" minute ":" second (RFC 9110 §5.6.7; second may be 60 for a leap second). */
  time(): number {
    const h = this.digits(2);
    if (!this.lit(':')) return NaN;
    const m = this.digits(2);
    if (!this.lit(':')) return NaN;
    const sec = this.digits(2);
    if (!(h <= 23 && m <= 59 && sec <= 60)) return NaN;
    return h * 3600 + m * 60 + sec;
  }
  atEnd(): boolean {
    return this.pos === this.s.length;
  }
}

function combine(year: number, month: number, day: number, secOfDay: number): number {
  if (!(month >= 1 && month <= 12) || !(day >= 1 && day <= daysInMonth(year, month)) || Number.isNaN(secOfDay)) return NaN;
  return daysFromCivil(year, month, day) * 86400 + secOfDay;
}

/**
 * Parses an HTTP-date in any of the three formats of RFC 9110 §5.6.7 (IMF-fixdate, obsolete
 * RFC 850, asctime) into whole seconds since the epoch; NaN if it is not one. `nowSeconds` resolves
 * RFC 850's two-digit year: a year more than 50 years in the future means the most recent past
 * year with those digits (§5.6.7). The day name is checked for spelling, not for consistency
 * with the date (recipients need not, and senders do get it wrong).
 */
export function parseHttpDate(value: string, nowSeconds: number): number {
  const c = new Cursor(value);
  // Long names first: "Sunday" would otherwise match the short "Sun".
  if (c.oneOf(DAY_NAMES_LONG) >= 0) return parseRfc850(c, nowSeconds);
  if (c.oneOf(DAY_NAMES) < 0) return NaN;
  if (c.lit(', ')) {
    // IMF-fixdate: day SP month SP year SP time SP "GMT"
    const day = c.digits(2);
    if (!c.lit(' ')) return NaN;
    const month = c.oneOf(MONTHS) + 1;
    if (!c.lit(' ')) return NaN;
    const year = c.digits(4);
    if (!c.lit(' ')) return NaN;
    const t = c.time();
    if (!c.lit(' GMT') || !c.atEnd()) return NaN;
    return combine(year, month, day, t);
  }
  if (!c.lit(' ')) return NaN;
  // asctime: month SP ( 2DIGIT / ( SP DIGIT ) ) SP time SP year
  const month = c.oneOf(MONTHS) + 1;
  if (!c.lit(' ')) return NaN;
  const day = c.lit(' ') ? c.digits(1) : c.digits(2);
  if (!c.lit(' ')) return NaN;
  const t = c.time();
  if (!c.lit(' ')) return NaN;
  const year = c.digits(4);
  if (!c.atEnd()) return NaN;
  return combine(year, month, day, t);
}

/** rfc850-date after the day name: "," SP day "-" month "-" 2DIGIT SP time SP "GMT". */
function parseRfc850(c: Cursor, nowSeconds: number): number {
  if (!c.lit(', ')) return NaN;
  const day = c.digits(2);
  if (!c.lit('-')) return NaN;
  const month = c.oneOf(MONTHS) + 1;
  if (!c.lit('-')) return NaN;
  const yy = c.digits(2);
  if (!c.lit(' ')) return NaN;
  const t = c.time();
  if (!c.lit(' GMT') || !c.atEnd() || Number.isNaN(yy)) return NaN;
  const nowYear = civilFromDays(Math.floor(nowSeconds / 86400)).year;
  let year = nowYear - (nowYear % 100) + yy;
  if (year > nowYear + 50) year -= 100;
  return combine(year, month, day, t);
}

/**
 * The current IMF-fixdate as bytes, recomputed at most once per second: every response's `Date`
 * (RFC 9110 §6.6.1) comes from here. The returned array is replaced, never rewritten, so a caller
 * may keep it.
 */
export class HttpDateClock {
  #second = Number.NaN;
  #bytes: Uint8Array = new Uint8Array(IMF_FIXDATE_LENGTH);

  /** Whole seconds of the last `at()` call. */
  get second(): number {
    return this.#second;
  }

  /** The 29 date bytes for the time `nowMs` (ms since the epoch). */
  at(nowMs: number): Uint8Array {
    const s = Math.floor(nowMs / 1000);
    if (s !== this.#second) {
      this.#second = s;
      this.#bytes = latin1Bytes(formatHttpDate(s));
    }
    return this.#bytes;
  }
}
