/**
 * A `DocumentSource` over an in-memory tree: used by tests, benchmarks and the admin API's
 * dry runs, and a reference for what the syscall-backed source must answer. Directories are
 * implied by the files under them.
 */
import type { DocumentSource, SourceError, SourceStat } from './document-cache.js';

/** One file of a memory tree: content and modification time (ms since the epoch). */
export interface MemoryFile {
  bytes: Uint8Array;
  mtimeMs: number;
}

/** An in-memory docroot. `files` maps normalized absolute paths (`/a/b.html`) to files. */
export class MemoryDocumentSource implements DocumentSource {
  readonly files: Map<string, MemoryFile>;
  /** Calls made, for tests that check coalescing and revalidation. */
  readonly calls = { stat: 0, read: 0, release: 0 };

  constructor(files: Iterable<[string, MemoryFile]> = []) {
    this.files = new Map(files);
  }

  stat(path: string): Promise<SourceStat | SourceError> {
    this.calls.stat++;
    const f = this.files.get(path);
    if (f !== undefined) return Promise.resolve({ kind: 'file', sizeBytes: f.bytes.length, mtimeMs: f.mtimeMs });
    const dir = path === '/' ? '/' : `${path}/`;
    for (const p of this.files.keys()) if (p.startsWith(dir)) return Promise.resolve({ kind: 'directory' });
    return Promise.resolve('not-found');
  }

  read(path: string): Promise<Uint8Array | SourceError> {
    this.calls.read++;
    const f = this.files.get(path);
    return Promise.resolve(f === undefined ? 'not-found' : f.bytes);
  }

  release(): void {
    this.calls.release++;
  }
}
