/**
 * Cheetah's HTTP/1.0 and HTTP/1.1 engine: pure protocol logic between Cheetah's TCP and its
 * document store.
 *
 * What it does: parses requests incrementally (any split, pipelining, strict limits, RFC 9112
 * framing rules), answers GET and HEAD for static documents with Date, Server, Content-Type,
 * Content-Length, Last-Modified, ETag, conditional requests (304/412), single ranges (206/416),
 * directory index and slash redirects, and small HTML error pages; keeps documents in a byte-
 * budgeted LRU cache in Cheetah's memory and describes each response by reference
 * (`HttpResponse`: header bytes, a body that is a subarray of the cached document, a close
 * flag), with the header precomputed per document and its Date patched once per second;
 * drives header and keep-alive timeouts from the caller's clock; counts everything.
 *
 * What it must not do: touch sockets, files, timers or ambient time. Documents come through
 * the `DocumentSource` interface (the server glue implements it with the kernel's docroot
 * syscalls); bytes arrive and leave through `HttpConnection` and its sink; time comes from the
 * `HttpClock` given to the engine. It imports nothing outside this folder.
 *
 * Supported and unsupported features: docs/http.md.
 */
export { HttpConnection, type HttpCloseReason, type HttpConnectionSink, type HttpConnectionState } from './connection.js';
export {
  CacheEntry,
  DocumentCache,
  ENTRY_OVERHEAD_BYTES,
  type DocumentSource,
  type EntryKind,
  type SourceError,
  type SourceStat,
} from './document-cache.js';
export { HttpEngine, HttpResponse, type HttpClock, type HttpEngineInit } from './engine.js';
export { HEAP_MEMORY, HeadBytes, type HttpMemory } from './head.js';
export { MemoryDocumentSource, type MemoryFile } from './memory-source.js';
export { DEFAULT_HTTP_OPTIONS, resolveHttpOptions, type HttpOptions } from './options.js';
export { RequestParser, type HttpParseError, type HttpRequest, type HttpVersion, type ParseEvent } from './parser.js';
export {
  HTTP_STATUSES,
  PARSE_ERROR_REASONS,
  createHttpStats,
  type HttpCacheStats,
  type HttpStats,
  type HttpStatus,
  type ParseErrorReason,
} from './stats.js';
export { contentTypeFor, DEFAULT_CONTENT_TYPE } from './mime.js';
export { formatHttpDate, parseHttpDate } from './http-date.js';
