#!/usr/bin/env node
// Adds lock-file entries for platform-specific optional packages of other platforms (e.g. the
// darwin or win32 builds of a native resolver) that the package registry reachable here does not
// serve. npm leaves them out when it cannot fetch their metadata, and `npm ci` then refuses the
// lock file as out of sync. The entries carry only os/cpu, so npm never installs them on a
// machine they do not fit. Idempotent; run after `npm install` changes the lock file.
import { readFileSync, writeFileSync } from 'node:fs';

const FILE = new URL('../package-lock.json', import.meta.url);
const OS = ['android', 'darwin', 'freebsd', 'linux', 'openharmony', 'win32', 'sunos', 'aix', 'netbsd', 'openbsd'];
const CPU = ['arm', 'arm64', 'x64', 'ia32', 'loong64', 'ppc64', 'riscv64', 's390x', 'wasm32', 'mips64el'];
const platformOf = (name) => {
  const m = new RegExp(`[-/](${OS.join('|')})-(${CPU.join('|')})(?:-|$)`).exec(name);
  return m ? { os: m[1], cpu: m[2] } : null;
};

const lock = JSON.parse(readFileSync(FILE, 'utf8'));
const added = [];
for (const [key, entry] of Object.entries(lock.packages ?? {})) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const path = `node_modules/${name}`;
    if (lock.packages[path] || lock.packages[`${key}/${path}`]) continue;
    const platform = platformOf(name);
    if (!platform) continue;
    lock.packages[path] = {
      version,
      cpu: [platform.cpu],
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      os: [platform.os],
    };
    added.push(`${name}@${version}`);
  }
}
if (added.length) {
  lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
  writeFileSync(FILE, JSON.stringify(lock, null, 2) + '\n');
  console.log(`package-lock.json: added ${added.length} foreign-platform optional entries`);
}
