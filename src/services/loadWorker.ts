// Worker-thread entry (dist/loadWorker.js): reads one trace file off the extension host's thread and sends back its
// columns. Messages: in LoadRequest; out { type: 'progress', fraction } then { type: 'done', state } or { type: 'error' }.
import { parentPort } from 'node:worker_threads';
import { StringPool } from '../core/callTable';
import { PriceBook } from '../core/pricing';
import { packState } from '../core/traceFile';
import { readTraceFile } from '../node/traceReader';
import type { LoadRequest, LoadResponse } from '../node/workerLoad';

parentPort?.on('message', (req: LoadRequest) => {
  const post = (m: LoadResponse, transfer?: ArrayBuffer[]) => parentPort!.postMessage(m, transfer);
  try {
    const prices = new PriceBook(new Map(req.overrides));
    let last = 0;
    const r = readTraceFile(req.path, {
      pool: new StringPool(),
      prices,
      final: false,
      mapping: req.mapping,
      displayName: req.displayName,
      onProgress: (read, total) => {
        const f = total ? read / total : 1;
        if (f - last >= 0.02) {
          last = f;
          post({ type: 'progress', fraction: f });
        }
      },
    });
    const { packed, transfer } = packState(r.state);
    post({ type: 'done', state: packed }, transfer);
  } catch (e) {
    post({ type: 'error', message: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
  }
});
