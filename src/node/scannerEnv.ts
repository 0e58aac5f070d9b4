import { setWasmScanning } from '../core/fastScan';

/**
 * `LLM_COST_LENS_WASM=0` in the environment turns the fast scanner's WebAssembly loop off (the JavaScript reader then
 * reads every line): to compare the two, or to set the loop aside should it ever misbehave. Called by every entry
 * point that reads traces (the extension, its workers and parse process, the CLI); worker threads and child processes
 * inherit the environment.
 */
export function applyScannerEnv(env: NodeJS.ProcessEnv = process.env): void {
  if (env.LLM_COST_LENS_WASM === '0') setWasmScanning(false);
}
