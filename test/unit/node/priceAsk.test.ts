import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { PriceBook, type PriceOverride, type ResolvedPrice } from '../../../src/core/pricing';
import { askPrices, PriceAnswers, type PriceAskPort } from '../../../src/node/priceAsk';
import { ROOT } from '../helpers';

const MODELS: [string, string | undefined][] = [
  ['gpt-4o', 'openai'],
  ['claude-sonnet-4-5', 'anthropic'],
  ['gpt-4o-mini', undefined],
  ['acme-internal-llm-v1', 'acme'],
  ['my-model', undefined],
];

/**
 * A worker thread that resolves MODELS with a book that asks over `port` (waiting up to `waitMs` each), and says what
 * it got, whether it loaded the catalogue, and then sets `done` (for a test thread that cannot take messages: busy).
 */
function asker(ask: PriceAskPort, waitMs: number, done: SharedArrayBuffer, overrides: [string, unknown][] = []) {
  const out = JSON.stringify(join(ROOT, 'out', 'src'));
  const w = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     const { join } = require('node:path');
     const { PriceBook, priceCatalogueLoaded } = require(join(${out}, 'core', 'pricing.js'));
     const { askPrices } = require(join(${out}, 'node', 'priceAsk.js'));
     const book = new PriceBook(new Map(workerData.overrides), askPrices(workerData.ask, workerData.waitMs));
     const got = workerData.models.map(([m, p]) => book.resolve(m, p) ?? null);
     parentPort.postMessage({ got, loaded: priceCatalogueLoaded() });
     const done = new Int32Array(workerData.done);
     Atomics.store(done, 0, 1);
     Atomics.notify(done, 0);`,
    { eval: true, workerData: { ask, waitMs, done, models: MODELS, overrides }, transferList: [ask.port] },
  );
  return {
    result: new Promise<{ got: (ResolvedPrice | null)[]; loaded: boolean }>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    }).finally(() => w.terminate()),
  };
}

const local = (overrides: [string, PriceOverride][] = []) => {
  const b = new PriceBook(new Map(overrides));
  return MODELS.map(([m, p]) => b.resolve(m, p) ?? null);
};

describe('priceAsk: a range worker gets its prices from the book of the thread that started it', function () {
  this.timeout(30000);

  it('answers what a worker asks on the event loop: the same prices, and the worker never loads the catalogue', async () => {
    const answers = new PriceAnswers(new PriceBook());
    try {
      const { result } = asker(answers.open(), 10_000, new SharedArrayBuffer(4));
      const r = await result;
      assert.deepEqual(r.got, local());
      assert.equal(r.loaded, false);
      assert.equal(answers.answered, MODELS.length);
    } finally {
      answers.close();
    }
  });

  it('sends what its book resolved before the worker asks: the worker takes those without asking', async () => {
    const book = new PriceBook();
    for (const [m, p] of MODELS) book.resolve(m, p);
    const answers = new PriceAnswers(book);
    try {
      const r = await asker(answers.open(), 10_000, new SharedArrayBuffer(4)).result;
      assert.deepEqual(r.got, local());
      assert.equal(r.loaded, false);
      assert.equal(answers.answered, 0, 'nothing asked');
    } finally {
      answers.close();
    }
  });

  it('answers between the chunks of a busy thread (poll), and sends the models its book resolves as it resolves them', () => {
    const book = new PriceBook();
    const answers = new PriceAnswers(book);
    answers.pollOnResolve();
    const done = new SharedArrayBuffer(4);
    const flag = new Int32Array(done);
    const { result } = asker(answers.open(), 10_000, done);
    try {
      // This thread never returns to its event loop until the worker is done: only poll (and onResolved) answer.
      const until = Date.now() + 20_000;
      let k = 0;
      while (Atomics.load(flag, 0) === 0 && Date.now() < until) {
        // "Reading": resolves a model now and then (each sent at once), polls between "chunks".
        if (k < 2) book.resolve(MODELS[k][0], MODELS[k][1]);
        k++;
        answers.poll();
        Atomics.wait(flag, 0, 0, 2);
      }
      assert.equal(Atomics.load(flag, 0), 1, 'the worker was answered while this thread was busy');
    } finally {
      answers.close();
    }
    assert.equal(book.resolvedListeners, 0, 'close stops listening to the book');
    return result.then((r) => {
      assert.deepEqual(r.got, local());
      assert.equal(r.loaded, false);
    });
  });

  it('prices as the answering book does with overrides (the worker builds its book from the same ones)', async () => {
    const overrides: [string, PriceOverride][] = [['gpt-4o', { input: 1, output: 2 }], ['my-model', { input: 3, output: 4 }]];
    const answers = new PriceAnswers(new PriceBook(new Map(overrides)));
    try {
      const r = await asker(answers.open(), 10_000, new SharedArrayBuffer(4), overrides).result;
      assert.deepEqual(r.got, local(overrides));
      assert.equal(r.got[0]?.source, 'override');
      assert.equal(r.got[4]?.source, 'override');
    } finally {
      answers.close();
    }
  });

  it('looks a model up itself when no answer comes in time (nobody answers, or the answering thread is gone)', async () => {
    // The other end of the port is never listened to: each question waits the 5 ms, then the book looks it up.
    const { port1, port2 } = new MessageChannel();
    const r = await asker({ port: port2, flag: new SharedArrayBuffer(4) }, 5, new SharedArrayBuffer(4)).result;
    port1.close();
    assert.deepEqual(r.got, local());
    assert.equal(r.loaded, true);
    // The same on this thread: undefined (no answer), in about the time given.
    const c = new MessageChannel();
    const ask = askPrices({ port: c.port2, flag: new SharedArrayBuffer(4) }, 5);
    assert.equal(ask('gpt-4o', 'openai'), undefined);
    c.port1.close();
    c.port2.close();
  });

  it("drops an answer that came too late for its question, and keeps its prices", () => {
    // A late answer to question 1 arrives while question 2 waits: question 2 is not answered by it.
    const { port1, port2 } = new MessageChannel();
    const flag = new SharedArrayBuffer(4);
    const ask = askPrices({ port: port2, flag }, 5);
    assert.equal(ask('gpt-4o', 'openai'), undefined, 'question 1: no answer in time');
    const gpt = new PriceBook().resolve('gpt-4o', 'openai')!;
    port1.postMessage({ id: 1, prices: [['openai\u0000gpt-4o', gpt]] });
    assert.equal(ask('my-model', undefined), undefined, 'question 2 is not answered by the answer to 1');
    assert.deepEqual(ask('gpt-4o', 'openai'), gpt, "the late answer's prices are kept");
    port1.close();
    port2.close();
  });
});
