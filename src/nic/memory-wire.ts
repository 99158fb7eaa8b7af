/**
 * The in-memory wire: a card and a "host side" joined in-process, with the TAP card's semantics
 * so the kernel can be tested without root:
 * - receive: frames the host sends wait in a bounded queue (like the TAP's txqueuelen) and reach
 *   the card in batches on a later turn of the event loop, copied into one reused arena, at most
 *   `maxBatchFrames` / `maxBatchBytes` per batch; frames are views valid only during the handler
 *   call, and by default the arena is overwritten after each batch so a consumer that kept a view
 *   fails loudly;
 * - transmit: gathered, checked and counted exactly like the TAP; while the host is paused (or
 *   frames are already waiting) a frame is copied into the bounded queue (`queued`), a full queue
 *   drops it (`tx_queue_full`), and `resume()` drains the queue in order on a later turn, then
 *   runs the drain callback.
 */
import { componentLogger, type Logger } from '../util/log.js';
import { deriveMac } from './addr.js';
import { CardBase, DEFAULT_TUNING, ETH_HEADER_BYTES, SendResult, type NicTuning } from './card-base.js';
import type { TsoInfo } from './types.js';

/** Filled into a batch's bytes after the handler returns (when poisoning). */
const POISON_BYTE = 0xa5;

export interface MemoryWireOptions {
  /** The machine's MAC on this card. Default: derived from the name. */
  mac?: Uint8Array;
  /** The host side's MAC. Default: derived from the name. */
  hostMac?: Uint8Array;
  tuning?: Partial<NicTuning>;
  /** Frames the host may have waiting for the card; beyond, the host drops (like a TAP's txqueuelen). Default 1000. */
  hostQueueFrames?: number;
  /** Overwrite each batch after its handler calls, to expose consumers that keep views. Default true. */
  poison?: boolean;
  /**
   * Test use only: accept TSO frames up to this many bytes (at most 65,549) and hand each
   * super-frame to the host as is, unsegmented, so a test sees exactly what the kernel gave the
   * card. Default 0: the card cannot segment (the kernel segments in software).
   */
  tsoMaxBytes?: number;
  log?: Logger;
}

/** Receives a frame the card sent; the host owns `frame` (a copy). */
export type HostFrameHandler = (frame: Uint8Array) => void;

/** The host's end of an in-memory wire. */
export class MemoryHost {
  readonly mac: Uint8Array;
  /** Frames the host dropped because the card's receive queue was full or the card was closed. */
  droppedFrames = 0;
  readonly #card: MemoryCard;
  readonly #queueFrames: number;
  readonly #pending: Uint8Array[] = [];
  #pendingHead = 0;
  #scheduled = false;
  #paused = false;
  #handler: HostFrameHandler = () => {};

  /** @internal made by MemoryCard */
  constructor(card: MemoryCard, mac: Uint8Array, queueFrames: number) {
    this.#card = card;
    this.mac = mac;
    this.#queueFrames = queueFrames;
  }

  /** Send a frame (gathered from `parts`) to the card; it is copied. False if the host had to drop it. */
  send(parts: Uint8Array | readonly Uint8Array[]): boolean {
    if (this.#card.closed || this.#pending.length - this.#pendingHead >= this.#queueFrames) {
      this.droppedFrames++;
      return false;
    }
    const list = parts instanceof Uint8Array ? [parts] : parts;
    let length = 0;
    for (const p of list) length += p.byteLength;
    const copy = new Uint8Array(length);
    let at = 0;
    for (const p of list) {
      copy.set(p, at);
      at += p.byteLength;
    }
    this.#pending.push(copy);
    this.#schedule();
    return true;
  }

  /** Install the handler for frames the card sends (one; replaces any previous one). */
  onFrame(handler: HostFrameHandler): void {
    this.#handler = handler;
  }

  /** Stop accepting the card's frames: its transmits queue (backpressure) until `resume()`. */
  pause(): void {
    this.#paused = true;
  }

  /** Accept frames again; the card's queue drains in order on a later turn of the event loop. */
  resume(): void {
    this.#paused = false;
    setImmediate(() => this.#card.drainToHost());
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Frames waiting to reach the card. */
  get pendingFrames(): number {
    return this.#pending.length - this.#pendingHead;
  }

  /** @internal the card hands over one frame it sent (a copy the host now owns). */
  accept(frame: Uint8Array): void {
    this.#handler(frame);
  }

  /** @internal the next frame for the card, if any. */
  nextPending(): Uint8Array | undefined {
    if (this.#pendingHead >= this.#pending.length) return undefined;
    const frame = this.#pending[this.#pendingHead++];
    if (this.#pendingHead >= 1024 && this.#pendingHead * 2 >= this.#pending.length) {
      this.#pending.splice(0, this.#pendingHead);
      this.#pendingHead = 0;
    }
    return frame;
  }

  /** @internal */
  peekPendingLength(): number | undefined {
    return this.#pending[this.#pendingHead]?.byteLength;
  }

  /** @internal */
  discardPending(): number {
    const n = this.pendingFrames;
    this.#pending.length = 0;
    this.#pendingHead = 0;
    return n;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#card.receiveBatch();
      if (this.pendingFrames > 0 && !this.#card.closed) this.#schedule();
    });
  }
}

/** The machine's end of an in-memory wire; `host` is the other end. */
export class MemoryCard extends CardBase {
  readonly kind = 'memory';
  readonly host: MemoryHost;
  readonly #tuning: NicTuning;
  readonly #poison: boolean;
  #arena: ArrayBuffer;
  #bytes: Uint8Array;
  readonly #table: Uint32Array;
  /** Frames waiting for a paused host, each with whether it was a TSO frame (for the counters when it drains). */
  readonly #queue: { frame: Uint8Array; tso: boolean }[] = [];
  #queueBytes = 0;
  #closing: Promise<void> | undefined;

  constructor(name: string, mtuBytes: number, opts: MemoryWireOptions = {}) {
    super(name, opts.mac ?? deriveMac(name), mtuBytes, opts.log ?? componentLogger('nic', { nic: name }), opts.tsoMaxBytes ?? 0);
    this.#tuning = { ...DEFAULT_TUNING, ...opts.tuning };
    this.#poison = opts.poison ?? true;
    this.#arena = this.#newArena();
    this.#bytes = new Uint8Array(this.#arena);
    this.#table = new Uint32Array(2 * this.#tuning.maxBatchFrames);
    this.host = new MemoryHost(this, opts.hostMac ?? deriveMac(`${name}/host`), opts.hostQueueFrames ?? 1000);
  }

  #newArena(): ArrayBuffer {
    return new ArrayBuffer(this.#tuning.maxBatchBytes + this.maxFrameBytes + 8);
  }

  /** @internal one receive batch: what a TAP read loop does on one wake-up. */
  receiveBatch(): void {
    if (this.closed) return;
    if (this.#arena.byteLength === 0) {
      // A handler transferred the arena away.
      this.#arena = this.#newArena();
      this.#bytes = new Uint8Array(this.#arena);
    }
    const t = this.#table;
    let frames = 0;
    let used = 0;
    while (frames < this.#tuning.maxBatchFrames && used < this.#tuning.maxBatchBytes) {
      const length = this.host.peekPendingLength();
      if (length === undefined) break;
      const frame = this.host.nextPending()!;
      if (length > this.maxFrameBytes) {
        this.stats.drop('rx_oversize');
        continue;
      }
      if (length < ETH_HEADER_BYTES) {
        this.stats.drop('rx_runt');
        continue;
      }
      this.#bytes.set(frame, used);
      t[2 * frames] = used;
      t[2 * frames + 1] = length;
      frames++;
      used += (length + 7) & ~7;
    }
    if (frames === 0) return;
    this.deliverBatch(this.#arena, t, 0, frames);
    if (this.#poison && this.#arena.byteLength !== 0) this.#bytes.fill(POISON_BYTE, 0, used);
  }

  /** A TSO frame (`tsoMaxBytes` option) goes to the host whole: this wire does not segment. */
  protected override sendFrame(iov: readonly Uint8Array[], bytes: number, tso: TsoInfo | undefined): SendResult {
    if (!this.host.paused && this.#queue.length === 0) {
      this.host.accept(gather(iov, bytes));
      return SendResult.Sent;
    }
    if (this.#queue.length >= this.#tuning.txQueueFrames || this.#queueBytes + bytes > this.#tuning.txQueueBytes) {
      return SendResult.QueueFull;
    }
    this.#queue.push({ frame: gather(iov, bytes), tso: tso !== undefined });
    this.#queueBytes += bytes;
    return SendResult.Queued;
  }

  /** @internal the host resumed: hand it the queue in order (stops if it pauses again). */
  drainToHost(): void {
    if (this.closed || this.#queue.length === 0) return;
    let frames = 0;
    let bytes = 0;
    let tsoFrames = 0;
    let tsoBytes = 0;
    while (this.#queue.length > 0 && !this.host.paused) {
      const { frame, tso } = this.#queue.shift()!;
      this.#queueBytes -= frame.byteLength;
      frames++;
      bytes += frame.byteLength;
      if (tso) {
        tsoFrames++;
        tsoBytes += frame.byteLength;
      }
      this.host.accept(frame);
    }
    this.txDrained(frames, bytes, 0, this.#queue.length === 0, tsoFrames, tsoBytes);
  }

  txQueueFrames(): number {
    return this.#queue.length;
  }

  protected override hostDroppedFrames(): number {
    return this.host.droppedFrames;
  }

  /** Queued frames go to the host if it accepts them now, else are dropped (`tx_closed`); frames on their way in are dropped by the host. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.markClosed();
    while (this.#queue.length > 0 && !this.host.paused) this.host.accept(this.#queue.shift()!.frame);
    this.stats.drop('tx_closed', this.#queue.length);
    this.#queue.length = 0;
    this.#queueBytes = 0;
    this.host.droppedFrames += this.host.discardPending();
    this.#closing = new Promise((resolve) => setImmediate(resolve));
    return this.#closing;
  }
}

function gather(iov: readonly Uint8Array[], bytes: number): Uint8Array {
  const frame = new Uint8Array(bytes);
  let at = 0;
  for (const p of iov) {
    frame.set(p, at);
    at += p.byteLength;
  }
  return frame;
}
