/**
 * Tunables of Cheetah's HTTP engine, with their defaults. The daemon's config section
 * `cheetah.http` (src/config/schema.ts) mirrors these one to one; the server glue maps it here.
 *
 * Read first: RFC 9112 §3 (request-line length), RFC 6585 §5 (431), RFC 9112 §9.5 (timeouts).
 */

/** Limits, timeouts and cache sizes of one HTTP engine. All fields are required after `resolveHttpOptions`. */
export interface HttpOptions {
  /**
   * Longest request-line accepted, in bytes including the CRLF; longer → 414 and close.
   * RFC 9112 §3 asks for at least 8000 octets. Default 8192.
   */
  maxRequestLineBytes: number;
  /** Longest header section (all field lines and the final CRLF), in bytes; longer → 431 and close. Default 16384. */
  maxHeaderBytes: number;
  /** Most field lines in one request; more → 431 and close. Default 100. */
  maxHeaderFields: number;
  /**
   * Largest request body read and thrown away to keep a persistent connection in step (RFC 9112 §6):
   * GET/HEAD with a bigger body get 413, other methods their 405/501, and the connection closes. Default 65536.
   */
  maxDiscardBodyBytes: number;
  /** Longest chunk-size line (with extensions) or trailer line of a chunked body, in bytes. Default 4096. */
  maxChunkLineBytes: number;
  /**
   * A request must be complete (head and any discarded body) within this many ms of its first byte,
   * else 408 and close (slowloris). Also bounds the wait for the first byte of a new connection
   * (which then closes silently). Default 10000.
   */
  headerTimeoutMs: number;
  /** An idle persistent connection (no request in progress) closes after this many ms. Default 15000. */
  keepAliveTimeoutMs: number;
  /** Requests parsed and waiting for their response, per connection; beyond it input is refused (back-pressure). Default 32. */
  maxPipelinedRequests: number;
  /** Byte budget of the document cache (document bytes plus a fixed per-entry overhead). Default 32 MiB. */
  cacheBudgetBytes: number;
  /** Largest document served; bigger files get 500 and are counted (`documentTooLarge`). Default 16 MiB. */
  maxDocumentBytes: number;
  /** A cached entry older than this many ms is checked again with `stat` before use. Default 2000. */
  revalidateAfterMs: number;
  /** Value of the `Server` field (RFC 9110 §10.2.4). Default `Cheetah/ExoLinux`. */
  serverName: string;
  /** Answer an HTTP/0.9 simple GET (RFC 1945 §4.1) with a bare body, as Cheetah did; false → 400. Default true. */
  allowHttp09: boolean;
  /**
   * Cheetah's precomputed response headers (facts §3.2 item 2): build each document's head
   * once and only refresh its Date. False builds every head per response — for measuring the
   * specialization, like Cheetah's compile-time flags. Default true.
   */
  precomputeHeaders: boolean;
}

/** The defaults of every `HttpOptions` field. */
export const DEFAULT_HTTP_OPTIONS: Readonly<HttpOptions> = Object.freeze({
  maxRequestLineBytes: 8192,
  maxHeaderBytes: 16384,
  maxHeaderFields: 100,
  maxDiscardBodyBytes: 65536,
  maxChunkLineBytes: 4096,
  headerTimeoutMs: 10_000,
  keepAliveTimeoutMs: 15_000,
  maxPipelinedRequests: 32,
  cacheBudgetBytes: 32 * 1024 * 1024,
  maxDocumentBytes: 16 * 1024 * 1024,
  revalidateAfterMs: 2000,
  serverName: 'Cheetah/ExoLinux',
  allowHttp09: true,
  precomputeHeaders: true,
});

/** Fills unset fields with defaults and checks ranges; throws RangeError on a programmer error (bad option). */
export function resolveHttpOptions(partial: Partial<HttpOptions> = {}): HttpOptions {
  const o: HttpOptions = { ...DEFAULT_HTTP_OPTIONS, ...partial };
  const positive: (keyof HttpOptions)[] = [
    'maxRequestLineBytes',
    'maxHeaderBytes',
    'maxHeaderFields',
    'maxChunkLineBytes',
    'headerTimeoutMs',
    'keepAliveTimeoutMs',
    'maxPipelinedRequests',
    'cacheBudgetBytes',
    'maxDocumentBytes',
  ];
  for (const k of positive) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new RangeError(`HttpOptions.${k} must be a positive integer`);
  }
  for (const k of ['maxDiscardBodyBytes', 'revalidateAfterMs'] as const) {
    if (!Number.isSafeInteger(o[k]) || o[k] < 0) throw new RangeError(`HttpOptions.${k} must be a non-negative integer`);
  }
  // The request-line must hold at least "GET / HTTP/1.1\r\n".
  if (o.maxRequestLineBytes < 16) throw new RangeError('HttpOptions.maxRequestLineBytes must be at least 16');
  if (!/^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(o.serverName)) throw new RangeError('HttpOptions.serverName must be visible ASCII');
  return o;
}
