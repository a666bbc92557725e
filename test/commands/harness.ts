/**
 * Commands through the real dispatcher on an in-memory store loaded with the shipped demo
 * records: `as(email).run(text)` types a command as that person.
 */
import path from 'node:path';
import { registry } from '../../commands/index.js';
import { CONSOLE_ROUTES } from '../../src/core/command.js';
import type { Deps, Identity } from '../../src/core/command.js';
import { dispatch } from '../../src/core/dispatch.js';
import { toPlainText } from '../../src/core/reply.js';
import type { Reply } from '../../src/core/reply.js';
import { importRecordsFiles } from '../../src/services/import-records.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { MemoryLogger } from '../fakes/memory-logger.js';
import { MemoryStore } from '../fakes/memory-store.js';
import { RecordingScheduler } from '../fakes/recording-scheduler.js';
import { createSecretBox } from '../../src/infra/secrets.js';
import { randomBytes } from 'node:crypto';

export const DEMO_RECORDS = path.resolve(import.meta.dirname, '../../examples/demo-records.json');

/** Saturday 21 November 2026, noon UTC. */
export const T0 = '2026-11-21T12:00:00Z';

export interface Harness {
  deps: Deps;
  store: MemoryStore;
  clock: FakeClock;
  log: MemoryLogger;
  scheduler: RecordingScheduler;
  /** Runs a command as the person with this e-mail (or another identity). */
  as(who: string | Identity): { run(text: string): Promise<Reply>; text(command: string): Promise<string> };
}

/** A fresh harness with the demo records imported. */
export async function harness(now = T0): Promise<Harness> {
  const store = new MemoryStore();
  const clock = new FakeClock(now);
  const log = new MemoryLogger();
  const imported = await importRecordsFiles(store, [DEMO_RECORDS]);
  if (!imported.ok) throw new Error(`demo records do not import: ${JSON.stringify(imported.error)}`);
  const scheduler = new RecordingScheduler();
  const deps: Deps = {
    store,
    clock,
    log,
    settings: { supportEmail: 'support@upgradedesk.example', runConcurrency: 4, routes: CONSOLE_ROUTES },
    scheduler,
    secretBox: createSecretBox(randomBytes(32)),
  };
  let seq = 0;
  return {
    deps,
    store,
    clock,
    log,
    scheduler,
    as(who) {
      const identity: Identity = typeof who === 'string' ? { kind: 'email', address: who } : who;
      const run = (text: string) => dispatch(registry, deps, { id: `inv-${++seq}`, via: 'console', identity, text });
      return { run, text: async (command: string) => toPlainText(await run(command)) };
    },
  };
}

export const JANE = 'jane@acme.example';
export const BOB = 'bob@acme.example';
export const GRETA = 'greta@globex.example';
export const ALEX = 'alex@upgradedesk.example';
export const PAT = 'pat@upgradedesk.example';

/** A valid single request for edge-01 (5.2.0 → 7.1.0) with the hardware on record. */
export function edge01(extra = ''): string {
  return `/upgrade request device=edge-01 version=7.1.0 when=window mac=00:1A:2B:3C:4D:5E ip=203.0.113.10 serial=SN-1001 ${extra}`.trim();
}

/** Pulls the UPG-… reference out of a reply. */
export function refOf(reply: Reply): string {
  const m = /UPG-\d{6,}/.exec(toPlainText(reply));
  if (!m) throw new Error(`no reference in reply:\n${toPlainText(reply)}`);
  return m[0];
}
