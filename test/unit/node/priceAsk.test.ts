import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { PriceBook, type PriceOverride, type ResolvedPrice } from '../../../src/core/pricing';
import { askPrices, MAX_SENT, PriceAnswers, type PriceAskPort } from '../../../src/node/priceAsk';
import { ROOT } from '../helpers';

const MODELS: [string, string | undefined][] = [
  ['gpt-4o', 'openai'],
  ['claude-sonnet-4-5', 'anthropic'],
  ['gpt-4o-mini', undefined],
  ['acme-internal-llm-v1', 'acme'],
  ['my-model', undefined],
];

/**
 * A worker thread that resolves MODELS with a book that asks over `port` (`opts`: askPrices' options), and says what
 * it got, whether it loaded the catalogue, and then sets `done` (for a test thread that cannot take messages: busy).
 */
function asker(ask: PriceAskPort, opts: { waitMs?: number; maxAsks?: number }, done: SharedArrayBuffer, overrides: [string, unknown][] = []) {
  const out = JSON.stringify(join(ROOT, 'out', 'src'));
  const w = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     const { join } = require('node:path');
     const { PriceBook, priceCatalogueLoaded } = require(join(${out}, 'core', 'pricing.js'));
     const { askPrices } = require(join(${out}, 'node', 'priceAsk.js'));
     const book = new PriceBook(new Map(workerData.overrides), askPrices(workerData.ask, workerData.opts));
     const got = workerData.models.map(([m, p]) => book.resolve(m, p) ?? null);
     parentPort.postMessage({ got, loaded: priceCatalogueLoaded() });
     const done = new Int32Array(workerData.done);
     Atomics.store(done, 0, 1);
     Atomics.notify(done, 0);`,
    { eval: true, workerData: { ask, opts, done, models: MODELS, overrides }, transferList: [ask.port] },
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
      const { result } = asker(answers.open(), { waitMs: 10_000 }, new SharedArrayBuffer(4));
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
      const r = await asker(answers.open(), { waitMs: 10_000 }, new SharedArrayBuffer(4)).result;
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
    const { result } = asker(answers.open(), { waitMs: 10_000 }, done);
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
      const r = await asker(answers.open(), { waitMs: 10_000 }, new SharedArrayBuffer(4), overrides).result;
      assert.deepEqual(r.got, local(overrides));
      assert.equal(r.got[0]?.source, 'override');
      assert.equal(r.got[4]?.source, 'override');
    } finally {
      answers.close();
    }
  });

  it('looks models up itself once its time to wait is spent (nobody answers, or the answering thread is gone): one question, then none', async () => {
    // The other end of the port is never listened to: the first question waits the 30 ms, then the book looks every
    // model up itself, asking nothing more.
    const { port1, port2 } = new MessageChannel();
    const t = performance.now();
    const r = await asker({ port: port2, flag: new SharedArrayBuffer(4) }, { waitMs: 30 }, new SharedArrayBuffer(4)).result;
    assert.ok(performance.now() - t < 5000);
    let asked = 0;
    while (receiveMessageOnPort(port1)) asked++;
    port1.close();
    assert.equal(asked, 1);
    assert.deepEqual(r.got, local());
    assert.equal(r.loaded, true);
  });

  it('asks at most maxAsks questions, and none once its thread has loaded the catalogue', async () => {
    const answers = new PriceAnswers(new PriceBook());
    try {
      const r = await asker(answers.open(), { waitMs: 10_000, maxAsks: 2 }, new SharedArrayBuffer(4)).result;
      assert.deepEqual(r.got, local());
      assert.equal(r.loaded, true);
      assert.equal(answers.answered, 2, 'two asked; the third looked up (loading the catalogue), the rest too');
    } finally {
      answers.close();
    }
    // On this thread, whose catalogue is loaded: nothing asked.
    const c = new MessageChannel();
    const ask = askPrices({ port: c.port2, flag: new SharedArrayBuffer(4) }, { waitMs: 10_000 });
    assert.equal(ask('gpt-4o', 'openai'), undefined);
    assert.equal(receiveMessageOnPort(c.port1), undefined);
    c.port1.close();
    c.port2.close();
  });

  it('sends at most MAX_SENT prices unasked (a file of thousands of models is not sent one by one), to every port', () => {
    const book = new PriceBook();
    for (let i = 0; i < MAX_SENT - 6; i++) book.resolve(`acme-model-${i}`, 'acme');
    const answers = new PriceAnswers(book);
    const taken = (port: MessagePort) => {
      let n = 0;
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) n += (m.message as { prices: unknown[] }).prices.length;
      return n;
    };
    try {
      const a = answers.open().port;
      assert.equal(taken(a), MAX_SENT - 6);
      for (let i = 0; i < 20; i++) book.resolve(`other-model-${i}`, undefined);
      answers.poll();
      assert.equal(taken(a), 6, 'up to MAX_SENT in all');
      const b = answers.open().port;
      assert.equal(taken(b), MAX_SENT, 'a port opened later gets what the others got');
      book.resolve('gpt-4o', 'openai');
      answers.poll();
      assert.equal(taken(a) + taken(b), 0);
      a.close();
      b.close();
    } finally {
      answers.close();
    }
  });

  it('keeps the prices of an answer that came too late for its question, and asks nothing once its time to wait is spent', () => {
    const { port1, port2 } = new MessageChannel();
    const flag = new SharedArrayBuffer(4);
    // (This thread has the catalogue loaded: told otherwise, it asks.)
    const ask = askPrices({ port: port2, flag }, { waitMs: 5, catalogueLoaded: () => false });
    assert.equal(ask('gpt-4o', 'openai'), undefined, 'question 1: no answer in time');
    const gpt = new PriceBook().resolve('gpt-4o', 'openai')!;
    port1.postMessage({ id: 1, prices: [['openai\u0000gpt-4o', gpt]] });
    assert.equal(ask('my-model', undefined), undefined, 'no question 2 (the time to wait is spent), and the answer to 1 does not answer it');
    assert.equal(receiveMessageOnPort(port1)?.message.id, 1, 'question 1 was asked');
    assert.equal(receiveMessageOnPort(port1), undefined);
    assert.deepEqual(ask('gpt-4o', 'openai'), gpt, "the late answer's prices are kept");
    port1.close();
    port2.close();
  });
});
