// The parse process's first module (parseProcess.ts imports it before anything else, so this runs before its other
// modules do; the bundle is compiled as a whole first): starts the range workers the extension host asked for
// (argv[2]: none for a file read by one reader), whose own start then overlaps this thread's (see
// node/rangeWorkers.ts).
import { prestartRangeWorkers } from '../node/rangeWorkers';

prestartRangeWorkers(Math.max(0, Math.min(64, Math.floor(Number(process.argv[2]) || 0))));
