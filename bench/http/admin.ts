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

/**
 * What the daemon sent towards the clients so far: frames its cards transmitted (every frame,
 * Cheetah's and the kernel's: ARP, ICMP) and TCP segments Cheetah's stack sent (retransmissions
 * and RSTs included).
 */
export async function sentByDaemon(socketPath: string): Promise<{ txFrames: number; tcpSegments: number }> {
  const cards = await adminGet<Array<{ counters: { txFrames: number } }>>(socketPath, '/v1/nics');
  const cheetah = await adminGet<{ tcp?: { segmentsOut: number } }>(socketPath, '/v1/cheetah');
  if (cheetah.tcp === undefined) throw new Error('Cheetah is not running');
  return { txFrames: cards.reduce((a, n) => a + n.counters.txFrames, 0), tcpSegments: cheetah.tcp.segmentsOut };
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
