import * as assert from 'node:assert/strict';
import { startInOrder } from '../../../src/node/loadQueue';

/** Jobs finished by hand, recording what ran at once with what. */
function harness() {
  const running = new Set<string>();
  const log: string[][] = [];
  const finish = new Map<string, () => void>();
  const run = (item: string) =>
    new Promise<string>((resolve) => {
      running.add(item);
      log.push([...running].sort());
      finish.set(item, () => {
        running.delete(item);
        resolve(`done ${item}`);
      });
    });
  /** Lets the queue go on (its awaits) after a job finished. */
  const settle = () => new Promise((r) => setImmediate(r));
  return { running, log, finish, run, settle };
}

describe('startInOrder (the trace store loading several files)', () => {
  it('runs at most `limit` at once, an item marked alone with nothing else, and gives the jobs in item order', async () => {
    const h = harness();
    const items = ['a', 'b', 'c', 'BIG', 'd', 'e'];
    const started = startInOrder(items, h.run, { limit: 2, alone: (i) => i === 'BIG' });
    await h.settle();
    assert.deepEqual([...h.running].sort(), ['a', 'b'], 'two at once');
    h.finish.get('b')!();
    await h.settle();
    assert.deepEqual([...h.running].sort(), ['a', 'c'], 'the next one as soon as one is done');
    h.finish.get('c')!();
    await h.settle();
    assert.deepEqual([...h.running], ['a'], 'the one to run alone waits for all the others');
    h.finish.get('a')!();
    await h.settle();
    assert.deepEqual([...h.running], ['BIG']);
    h.finish.get('BIG')!();
    await h.settle();
    assert.deepEqual([...h.running].sort(), ['d', 'e']);
    h.finish.get('e')!();
    h.finish.get('d')!();
    const jobs = await started;
    assert.deepEqual(await Promise.all(jobs), items.map((i) => `done ${i}`));
    assert.ok(h.log.every((set) => set.length <= 2 && (!set.includes('BIG') || set.length === 1)), JSON.stringify(h.log));
  });

  it('starts nothing more once told to stop; the jobs started are given', async () => {
    const h = harness();
    let stop = false;
    const started = startInOrder(['a', 'b', 'c', 'd'], h.run, { limit: 2, alone: () => false, stop: () => stop });
    await h.settle();
    stop = true;
    h.finish.get('a')!();
    h.finish.get('b')!();
    const jobs = await started;
    assert.equal(jobs.length, 2);
    assert.deepEqual(await Promise.all(jobs), ['done a', 'done b']);
    assert.equal(h.finish.has('c'), false);
  });

  it('frees the place of a job that rejects, and gives its rejection through the jobs', async () => {
    const started = startInOrder(['bad', 'a', 'b'], (i) => (i === 'bad' ? Promise.reject(new Error('no such file')) : Promise.resolve(i)), { limit: 1, alone: () => false });
    const jobs = await started;
    assert.equal(jobs.length, 3);
    await assert.rejects(jobs[0], /no such file/);
    assert.deepEqual(await Promise.all(jobs.slice(1)), ['a', 'b']);
  });

  it('with a limit of one, runs one after another', async () => {
    const h = harness();
    const started = startInOrder(['a', 'b'], h.run, { limit: 1, alone: () => false });
    await h.settle();
    assert.deepEqual([...h.running], ['a']);
    h.finish.get('a')!();
    await h.settle();
    assert.deepEqual([...h.running], ['b']);
    h.finish.get('b')!();
    assert.equal((await started).length, 2);
  });
});
