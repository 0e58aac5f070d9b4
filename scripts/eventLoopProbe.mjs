import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Watches this thread's event loop: a 5 ms interval (the largest gap between its ticks) and monitorEventLoopDelay.
 * `reset` starts the watch again; `stop` gives the largest delay seen, ms, counting the stretch since the last tick.
 */
export function eventLoopProbe() {
  const h = monitorEventLoopDelay({ resolution: 5 });
  let maxGapMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  }, 5);
  h.enable();
  return {
    reset() {
      maxGapMs = 0;
      last = performance.now();
      h.reset();
    },
    stop() {
      const tick = performance.now() - last;
      clearInterval(timer);
      h.disable();
      return Math.max(maxGapMs, tick, h.max / 1e6);
    },
  };
}
