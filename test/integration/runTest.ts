// Extension-host tests through @vscode/test-electron, for machines that CAN download VS Code
// (it fetches a VS Code build from update.code.visualstudio.com on first use). On offline machines
// use scripts/vscode/run.mjs instead (code-server + Debian Chromium, see scripts/vscode/README.md).
//
//   npx tsc -p . && node out/test/integration/runTest.js [workspaceFolder]
import * as path from 'path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  // compiled to out/test/integration/runTest.js -> repo root is three levels up
  const repoRoot = path.resolve(__dirname, '../../..');
  const extensionDevelopmentPath = repoRoot;
  const extensionTestsPath = path.resolve(__dirname, 'host/index.js');
  const workspace = path.resolve(process.argv[2] ?? path.join(repoRoot, 'test/fixtures'));
  try {
    await runTests({
      extensionDevelopmentPath,
      extensionTestsPath,
      launchArgs: [workspace, '--disable-extensions'],
      version: process.env.VSCODE_TEST_VERSION, // undefined = latest stable
    });
  } catch (err) {
    console.error(`extension-host tests failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}

void main();
