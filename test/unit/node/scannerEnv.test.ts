import * as assert from 'node:assert/strict';
import { setWasmScanning, wasmScanning } from '../../../src/core/fastScan';
import { applyScannerEnv } from '../../../src/node/scannerEnv';

describe('scannerEnv: LLM_COST_LENS_WASM', () => {
  afterEach(() => setWasmScanning(true));

  it('turns the WebAssembly loop off with 0 and leaves it on otherwise', () => {
    applyScannerEnv({});
    assert.equal(wasmScanning(), true);
    applyScannerEnv({ LLM_COST_LENS_WASM: '1' });
    assert.equal(wasmScanning(), true);
    applyScannerEnv({ LLM_COST_LENS_WASM: '0' });
    assert.equal(wasmScanning(), false);
  });
});
