// Prices passed across threads in a parallel read: the range workers get their prices from the book of the thread that
// started them rather than read the price catalogue themselves (~7 ms of a worker's time since its data is JSON, ~40–50
// ms before, on a core the read needs; workers pricing on their own were measured no quicker: docs/performance-history.md). That thread sends what its book resolved as it reads its own range (the workers mostly meet the same models)
// and answers what a worker asks; a worker waits for an answer (its read is synchronous), so the answering thread
// answers between its chunks (`poll`) and, when it is not reading, on its event loop. Asking pays for a few models (a
// file of a few dozen), not for many: a worker waits ASK_MS at most in all and asks MAX_ASKS questions at most, then
// looks models up itself (loading the catalogue), as a book without `ask` does; the answering thread sends MAX_SENT
// prices at most unasked.
import { MessageChannel, type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { type PriceBook, priceCatalogueLoaded, priceKey, type ResolvedPrice, type ResolvedPrices } from '../core/pricing';

/**
 * How long a worker waits for answers in all before it looks models up itself: about what loading the catalogue costs
 * it (a question is answered between the answering thread's chunks, a few ms apart; more on lines it parses slowly).
 */
export const ASK_MS = 50;

/** Questions a worker asks at most (one costs it ~0.1–0.4 ms; a lookup with the catalogue loaded ~0.05–0.1 ms). */
export const MAX_ASKS = 64;

/** Prices the answering thread sends unasked at most (a file of thousands of models is not sent one by one). */
export const MAX_SENT = 256;

/** What a worker is given to ask with (in its RangeRequest; the port goes in the message's transfer list). */
export interface PriceAskPort {
  port: MessagePort;
  /** One Int32: set to 1 by the answering thread after each message it posts (the worker waits on it). */
  flag: SharedArrayBuffer;
}

type Ask = { id: number; model: string; provider?: string };
/** To a worker: prices its book may use (`id`: the answer to that question; 0: sent unasked). */
type Prices = { id: number; prices: ResolvedPrices };

/** The answering side: `prices` answers every worker given one of `open()`'s ports. */
export class PriceAnswers {
  private readonly ports: { port: MessagePort; flag: Int32Array }[] = [];
  /** How many of the book's resolved prices were sent to all ports. */
  private sent = 0;
  /** Questions answered (tests). */
  answered = 0;

  constructor(private readonly prices: PriceBook) {}

  /** A port for one worker (transfer `port`); answered on this thread's event loop and by `poll`. */
  open(): PriceAskPort {
    const { port1, port2 } = new MessageChannel();
    const flag = new SharedArrayBuffer(4);
    const entry = { port: port1, flag: new Int32Array(flag) };
    port1.on('message', (m: Ask) => this.answer(entry, m));
    // What the other ports were sent, then (with them) what the book resolved since.
    if (this.sent > 0) this.post(entry, { id: 0, prices: this.prices.resolvedPrices(0, this.sent) });
    this.ports.push(entry);
    this.send();
    return { port: port2, flag };
  }

  /**
   * Sends the prices the book resolved since the last time, then answers the questions waiting: a reading thread calls
   * it between its chunks and whenever its book resolves a model (`onResolved`: the models a read meets first are met
   * in its first chunk).
   */
  poll(): void {
    // (Answering resolves models, which calls this again.)
    if (this.polling) return;
    this.polling = true;
    try {
      this.pollNow();
    } finally {
      this.polling = false;
    }
  }

  private polling = false;

  /** Sends the ports what the book resolved since the last time (up to MAX_SENT in all). */
  private send(): void {
    if (this.sent < MAX_SENT && this.prices.resolvedCount > this.sent) {
      const fresh = this.prices.resolvedPrices(this.sent, MAX_SENT);
      this.sent += fresh.length;
      for (const e of this.ports) this.post(e, { id: 0, prices: fresh });
    }
  }

  private pollNow(): void {
    this.send();
    for (const e of this.ports) {
      for (let m = receiveMessageOnPort(e.port); m; m = receiveMessageOnPort(e.port)) this.answer(e, m.message as Ask);
    }
  }

  /**
   * Polls whenever `prices` resolves a model, until `close` (until MAX_SENT were sent: past that, a file of thousands
   * of models, questions wait for the next chunk).
   */
  pollOnResolve(): void {
    this.stopPolling ??= this.prices.onResolved(() => {
      if (this.sent < MAX_SENT) this.poll();
    });
  }

  private stopPolling: (() => void) | undefined;

  /** Closes the ports (the read is over). */
  close(): void {
    this.stopPolling?.();
    this.stopPolling = undefined;
    for (const e of this.ports.splice(0)) e.port.close();
  }

  private answer(e: { port: MessagePort; flag: Int32Array }, m: Ask): void {
    const price = this.prices.resolve(m.model, m.provider) ?? null;
    this.post(e, { id: m.id, prices: [[priceKey(m.model, m.provider), price]] });
    this.answered++;
  }

  private post(e: { port: MessagePort; flag: Int32Array }, m: Prices): void {
    e.port.postMessage(m);
    Atomics.store(e.flag, 0, 1);
    Atomics.notify(e.flag, 0);
  }
}

/**
 * The asking side (PriceBook's `ask`): the prices sent so far, else the answer to a question posted now; undefined when
 * none came in the time left of `waitMs` (for all questions), once `maxAsks` questions were asked, and once this thread
 * has the catalogue loaded (`catalogueLoaded`; the book then looks the model up itself).
 */
export function askPrices(
  { port, flag }: PriceAskPort,
  { waitMs = ASK_MS, maxAsks = MAX_ASKS, catalogueLoaded = priceCatalogueLoaded }: { waitMs?: number; maxAsks?: number; catalogueLoaded?: () => boolean } = {},
): (model: string, provider: string | undefined) => ResolvedPrice | null | undefined {
  const f = new Int32Array(flag);
  const known = new Map<string, ResolvedPrice | null>();
  let seq = 0;
  /** Time left to wait for answers, in all. */
  let left = waitMs;
  /** Takes the messages waiting; true when the answer to question `id` was among them. */
  const drain = (id: number): boolean => {
    let answered = false;
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      const p = m.message as Prices;
      for (const [k, r] of p.prices) known.set(k, r);
      if (id !== 0 && p.id === id) answered = true;
    }
    return answered;
  };
  return (model, provider) => {
    const key = priceKey(model, provider);
    drain(0);
    if (known.has(key)) return known.get(key);
    if (left <= 0 || seq >= maxAsks || catalogueLoaded()) return undefined;
    const id = ++seq;
    Atomics.store(f, 0, 0);
    port.postMessage({ id, model, provider } satisfies Ask);
    const since = performance.now();
    try {
      for (;;) {
        if (drain(id)) return known.get(key);
        const wait = left - (performance.now() - since);
        if (wait <= 0) return undefined;
        Atomics.wait(f, 0, 0, wait);
        Atomics.store(f, 0, 0);
      }
    } finally {
      left -= performance.now() - since;
    }
  };
}
