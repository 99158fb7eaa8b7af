/**
 * The admin API of a benchmarked daemon, over its Unix socket (bench/http/run and profile).
 */
import { request } from 'node:http';

/** `GET path` on the admin API at `socketPath`, parsed as JSON. */
export function adminGet<T>(socketPath: string, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    request({ socketPath, path, headers: { host: 'localhost' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve(JSON.parse(text) as T));
    })
      .on('error', reject)
      .end();
  });
}

/** Frames received plus frames sent by all the daemon's cards so far. */
export async function cardFrames(socketPath: string): Promise<number> {
  const cards = await adminGet<Array<{ counters: { rxFrames: number; txFrames: number } }>>(socketPath, '/v1/nics');
  return cards.reduce((a, n) => a + n.counters.rxFrames + n.counters.txFrames, 0);
}

/** Wait until the daemon's Cheetah answers (10 s at most). */
export async function waitForCheetah(socketPath: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await adminGet(socketPath, '/v1/cheetah');
      return;
    } catch {
      if (i > 200) throw new Error('exolinuxd did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
