#!/usr/bin/env node
// The `upgrade-desk` command: runs the compiled CLI (built by `npm run build`, run on install).
import { existsSync } from 'node:fs';
const entry = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('upgrade-desk is not built yet: run `npm run build` (npm install does it for you).');
  process.exit(1);
}
const { runCli } = await import(entry.href);
// Exit explicitly: the queue may leave lock-refresh timers behind for a while after it stopped.
process.exit(await runCli(process.argv.slice(2)));
