/**
 * The node:http baseline for bench/http: serves a docroot from memory (every file read once at
 * start, as Cheetah serves from its cache) with the same headers a static server sends.
 *
 *   node dist/bench/http/node-server.js DOCROOT PORT
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, relative } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

const [docroot, portText] = process.argv.slice(2);
if (docroot === undefined || portText === undefined) {
  process.stderr.write('usage: node-server DOCROOT PORT\n');
  process.exit(2);
}

interface Doc {
  body: Buffer;
  type: string;
  lastModified: string;
}
const docs = new Map<string, Doc>();
function load(dir: string): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) load(p);
    else {
      const doc = { body: readFileSync(p), type: TYPES[extname(p)] ?? 'application/octet-stream', lastModified: st.mtime.toUTCString() };
      const url = `/${relative(docroot as string, p)}`;
      docs.set(url, doc);
      if (name === 'index.html') docs.set(url.slice(0, -'index.html'.length), doc);
    }
  }
}
load(docroot);

createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0] as string;
  const doc = docs.get(path);
  if (doc === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(doc === undefined ? 404 : 405, { 'content-type': 'text/plain' });
    res.end(doc === undefined ? 'not found\n' : 'method not allowed\n');
    return;
  }
  res.writeHead(200, { 'content-type': doc.type, 'content-length': doc.body.length, 'last-modified': doc.lastModified });
  res.end(req.method === 'HEAD' ? undefined : doc.body);
}).listen(Number(portText), '0.0.0.0', () => process.stdout.write('listening\n'));
