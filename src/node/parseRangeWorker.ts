// Worker-thread entry (out/src/node/parseRangeWorker.js; bundled as dist/parseRangeWorker.js): reads byte ranges of a
// trace file with the fast scanner (its own, then halves of others' it takes: RangeClaims) and sends back their
// columns. Messages: in RangeRequest; out RangeResponse (a `done` per range, then `finished`).
import { parentPort } from 'node:worker_threads';
import { adoptScannerModule, scannerModule } from '../core/fastScanWasm';
import { PriceBook, priceCatalogueLoaded } from '../core/pricing';
import type { RangeRequest, RangeResponse } from './parallelLoad';
import { askPrices } from './priceAsk';
import { scanRanges } from './rangeScan';
import { applyScannerEnv } from './scannerEnv';

applyScannerEnv();

parentPort?.on('message', (req: RangeRequest) => {
  try {
    if (req.wasmModule) adoptScannerModule(req.wasmModule);
    scanRanges(req, new PriceBook(new Map(req.overrides), req.priceAsk && askPrices(req.priceAsk)), (part, transfer) => parentPort!.postMessage(part, transfer));
    parentPort!.postMessage({ type: 'finished', sharedModule: req.wasmModule !== undefined && scannerModule() === req.wasmModule, catalogueLoaded: priceCatalogueLoaded() } satisfies RangeResponse);
  } catch (e) {
    const m: RangeResponse = { type: 'error', message: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
    parentPort!.postMessage(m);
  }
});
