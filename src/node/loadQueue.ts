/**
 * Starts `run` for each item in order, at most `limit` at once, and an item for which `alone(item)` holds with nothing
 * else running (nor started while it runs). Stops starting items once `stop()` holds. Resolves when every item has been
 * started (or the rest left out), with the started jobs in item order: item k's job is at k, and items not started
 * come after the last one started. A job that rejects frees its place like one that resolves.
 */
export async function startInOrder<T, R>(items: readonly T[], run: (item: T) => Promise<R>, opts: { limit: number; alone: (item: T) => boolean; stop?: () => boolean }): Promise<Promise<R>[]> {
  const running = new Set<Promise<void>>();
  const jobs: Promise<R>[] = [];
  let exclusive = false;
  for (const item of items) {
    const solo = opts.alone(item);
    while (running.size > 0 && (solo || exclusive || running.size >= opts.limit)) await Promise.race(running);
    if (opts.stop?.()) break;
    const job = run(item);
    // Settled either way (a job that rejects is the caller's to handle, through `jobs`).
    const done = () => {
      running.delete(tracked);
      if (solo) exclusive = false;
    };
    const tracked: Promise<void> = job.then(done, done);
    running.add(tracked);
    exclusive ||= solo;
    jobs.push(job);
  }
  return jobs;
}
