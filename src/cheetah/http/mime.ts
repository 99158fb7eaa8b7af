/**
 * Content-Type by file-name extension (RFC 9110 §8.3). Text types carry `charset=utf-8` so
 * browsers do not guess; unknown extensions are `application/octet-stream` (§8.3: a sender that
 * does not know the type may send that, and a browser then downloads rather than sniffs).
 */

/** Content-Type of files whose extension is not in the table. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

const TYPES: ReadonlyMap<string, string> = new Map([
  ['html', 'text/html; charset=utf-8'],
  ['htm', 'text/html; charset=utf-8'],
  ['css', 'text/css; charset=utf-8'],
  // RFC 9239 §6: text/javascript is the one registered type for JavaScript.
  ['js', 'text/javascript; charset=utf-8'],
  ['mjs', 'text/javascript; charset=utf-8'],
  ['json', 'application/json'],
  ['map', 'application/json'],
  ['txt', 'text/plain; charset=utf-8'],
  ['md', 'text/markdown; charset=utf-8'],
  ['csv', 'text/csv; charset=utf-8'],
  ['xml', 'application/xml'],
  ['png', 'image/png'],
  ['jpg', 'image/jpeg'],
  ['jpeg', 'image/jpeg'],
  ['gif', 'image/gif'],
  ['svg', 'image/svg+xml'],
  ['ico', 'image/vnd.microsoft.icon'],
  ['webp', 'image/webp'],
  ['avif', 'image/avif'],
  ['woff', 'font/woff'],
  ['woff2', 'font/woff2'],
  ['ttf', 'font/ttf'],
  ['otf', 'font/otf'],
  ['pdf', 'application/pdf'],
  ['wasm', 'application/wasm'],
  ['zip', 'application/zip'],
  ['gz', 'application/gzip'],
  ['mp4', 'video/mp4'],
  ['webm', 'video/webm'],
  ['mp3', 'audio/mpeg'],
  ['bin', 'application/octet-stream'],
]);

/** Content-Type for a path, by the extension of its last segment (case-insensitive). */
export function contentTypeFor(path: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  // A leading dot (".profile") names a file, not an extension.
  if (dot <= slash + 1) return DEFAULT_CONTENT_TYPE;
  return TYPES.get(path.slice(dot + 1).toLowerCase()) ?? DEFAULT_CONTENT_TYPE;
}
