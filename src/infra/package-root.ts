/** Finds files shipped with the package (examples/, migrations) from either src/ or dist/src/. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding the package's package.json. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('upgrade-desk: cannot find the package root (package.json)');
}

/** The demo records loaded into an empty database on first start. */
export function demoRecordsPath(): string {
  return path.join(packageRoot(), 'examples', 'demo-records.json');
}
