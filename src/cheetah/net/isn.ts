/**
 * Initial sequence numbers, timestamp offsets and SYN cookies: everything derived from the
 * stack's secret keys.
 *
 * Read first: RFC 6528 §3 (ISN = M + F(4-tuple, secret), M a 4 µs clock), RFC 9293 §3.4.1
 * (MUST-8 clock-driven ISN, SHLD-1 the keyed hash), RFC 4987 §3.6 (SYN cookies), RFC 7323 §5.4
 * (per-connection timestamp offsets). The PRF is HalfSipHash-2-4 (as Linux uses SipHash).
 *
 * A SYN cookie is the ISN of a SYN-ACK sent without keeping any state:
 *
 *     bits 31..27  T, a counter that advances every 64 s (keeps the ISN clock-driven)
 *     bits 26..24  index of the peer's MSS in {@link COOKIE_MSS_TABLE}
 *     bits 23..0   MAC = PRF(secret, 4-tuple, client ISN, T, MSS index, option bits)
 *
 * Window scale and SACK-permitted do not fit; as Linux does, when the peer offered timestamps
 * they ride in the low 6 bits of our SYN-ACK's TSval (echoed back in TSecr) and are covered by
 * the MAC. Without timestamps a cookie connection has no window scaling and no SACK.
 */
import { halfSipHash, type Rng } from './rng.js';

/** MSS values a cookie can carry (3 bits); the largest one ≤ the peer's MSS is used. */
export const COOKIE_MSS_TABLE = [536, 1024, 1220, 1300, 1360, 1400, 1440, 1460] as const;
/** Lifetime unit of a cookie (ms) and how many units old it may be. */
const COOKIE_PERIOD_MS = 64_000;
const COOKIE_MAX_AGE = 2;
/** Bits of TSval used for the options, and the marker that says they are there. */
const TS_OPTION_BITS = 0x3f;
const TS_COOKIE_MARK = 0x20;
const NO_WSCALE = 15;

/** What a valid cookie gives back about the peer's SYN. */
export interface CookieOptions {
  mss: number;
  /** Peer's window scale shift, undefined when it offered none (or timestamps were off). */
  windowScale: number | undefined;
  sackPermitted: boolean;
}

export class SequenceSecrets {
  readonly #isnK0: number;
  readonly #isnK1: number;
  readonly #cookieK0: number;
  readonly #cookieK1: number;
  readonly #tsK0: number;
  readonly #tsK1: number;

  /** Draw the three 64-bit keys from `rng` (the daemon seeds it from a real entropy source). */
  constructor(rng: Rng) {
    this.#isnK0 = rng.nextU32();
    this.#isnK1 = rng.nextU32();
    this.#cookieK0 = rng.nextU32();
    this.#cookieK1 = rng.nextU32();
    this.#tsK0 = rng.nextU32();
    this.#tsK1 = rng.nextU32();
  }

  /** RFC 6528 ISN for a connection at time `nowMs`: a 4 µs clock plus the keyed hash of the 4-tuple. */
  isn(nowMs: number, localAddr: number, localPort: number, remoteAddr: number, remotePort: number): number {
    const clock = Math.floor(nowMs * 250) % 0x1_0000_0000;
    return (clock + halfSipHash(this.#isnK0, this.#isnK1, 3, localAddr, remoteAddr, (localPort << 16) | remotePort)) >>> 0;
  }

  /**
   * Offset added to our millisecond clock for TSval towards one peer address. Per address pair
   * (as Linux) rather than random per connection, so a SYN cookie's timestamp can be checked
   * without state and a reused 4-tuple still sees increasing timestamps (RFC 6191).
   */
  tsOffset(localAddr: number, remoteAddr: number): number {
    return halfSipHash(this.#tsK0, this.#tsK1, 2, localAddr, remoteAddr);
  }

  #mac(t: number, mssIndex: number, optBits: number, localAddr: number, localPort: number, remoteAddr: number, remotePort: number, clientIsn: number): number {
    const meta = (t << 16) | (mssIndex << 8) | optBits;
    return halfSipHash(this.#cookieK0, this.#cookieK1, 5, localAddr, remoteAddr, (localPort << 16) | remotePort, clientIsn, meta) & 0xffffff;
  }

  /**
   * The cookie ISN for a SYN, and the TSval to send when the peer uses timestamps (`tsNow` is
   * our current timestamp clock; the returned TSval is ≤ it, so later TSvals never go back).
   */
  makeCookie(
    nowMs: number,
    tsNow: number,
    peer: CookieOptions,
    localAddr: number,
    localPort: number,
    remoteAddr: number,
    remotePort: number,
    clientIsn: number,
  ): { isn: number; tsVal: number } {
    let mssIndex = 0;
    for (let i = COOKIE_MSS_TABLE.length - 1; i > 0; i--) {
      if (COOKIE_MSS_TABLE[i]! <= peer.mss) {
        mssIndex = i;
        break;
      }
    }
    const optBits = TS_COOKIE_MARK | (peer.sackPermitted ? 0x10 : 0) | (peer.windowScale ?? NO_WSCALE);
    let tsVal = ((tsNow & ~TS_OPTION_BITS) | optBits) >>> 0;
    if (((tsVal - tsNow) | 0) > 0) tsVal = (tsVal - (TS_OPTION_BITS + 1)) >>> 0;
    const t = Math.floor(nowMs / COOKIE_PERIOD_MS) & 31;
    const mac = this.#mac(t, mssIndex, optBits, localAddr, localPort, remoteAddr, remotePort, clientIsn);
    return { isn: ((t << 27) | (mssIndex << 24) | mac) >>> 0, tsVal };
  }

  /**
   * Check the cookie a third-step ACK returns (`cookie` = SEG.ACK − 1, `clientIsn` = SEG.SEQ − 1,
   * `tsEcr` = its echoed timestamp or undefined). Returns the peer's options, or undefined when
   * the cookie is forged, for another 4-tuple, or older than two periods.
   */
  checkCookie(
    nowMs: number,
    cookie: number,
    tsEcr: number | undefined,
    localAddr: number,
    localPort: number,
    remoteAddr: number,
    remotePort: number,
    clientIsn: number,
  ): CookieOptions | undefined {
    const t = cookie >>> 27;
    const age = ((Math.floor(nowMs / COOKIE_PERIOD_MS) & 31) - t) & 31;
    if (age > COOKIE_MAX_AGE) return undefined;
    const mssIndex = (cookie >>> 24) & 7;
    const tsBits = tsEcr !== undefined ? tsEcr & TS_OPTION_BITS : 0;
    // Without the marker the peer did not echo our encoded TSval: no options beyond MSS.
    const optBits = (tsBits & TS_COOKIE_MARK) !== 0 ? tsBits : TS_COOKIE_MARK | NO_WSCALE;
    if (this.#mac(t, mssIndex, optBits, localAddr, localPort, remoteAddr, remotePort, clientIsn) !== (cookie & 0xffffff)) return undefined;
    const ws = optBits & 0x0f;
    return { mss: COOKIE_MSS_TABLE[mssIndex]!, windowScale: ws === NO_WSCALE ? undefined : Math.min(ws, 14), sackPermitted: (optBits & 0x10) !== 0 };
  }
}
