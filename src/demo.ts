/**
 * `upgrade-desk demo`: the whole story on the embedded defaults in under a minute, in a throwaway
 * data directory, with the simulate executor against a simulated device over real HTTP. Every
 * message is printed as it would be posted (the console sink), between short narration lines:
 * a request with a mistake, the corrected request and its findings, the manager password, consent,
 * the schedule, the downtime notices, the progress message edited in place, the completion
 * feedback and the rating prompt.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { loadConfig } from './config.js';
import { dispatch } from './core/dispatch.js';
import { toPlainText } from './core/reply.js';
import { SimulateExecutor } from './infra/executors/simulate-executor.js';
import { startSimulatedDevice } from './infra/executors/simulated-device.js';
import { HttpStatusChecker } from './infra/status-check.js';
import { formatConsoleNotice } from './infra/outbox/console-sink.js';
import type { OutboxSink } from './infra/outbox/outbox-worker.js';
import type { OutboxMessage } from './ports.js';
import { startBot } from './main.js';
import { sendRatingPrompt } from './services/send-rating-prompt.js';
import { toRequestJson } from './services/request-view.js';

export interface DemoOptions {
  out: Writable | { write(s: string): unknown };
  /** How long each simulated step takes; default 400 ms. */
  stepMs?: number;
  /** Keep the data directory (its path is printed) instead of deleting it. */
  keep?: boolean;
}

/**
 * Prints each message as posted, but a message identical to one already printed (the same notice
 * to another destination) as a single "same message" line, so the story stays readable.
 */
class DemoSink implements OutboxSink {
  readonly name = 'demo';
  private readonly seen = new Set<string>();
  constructor(private readonly out: { write(s: string): unknown }) {}
  accepts(): boolean {
    return true;
  }
  async deliver(message: OutboxMessage): Promise<{ externalId: string | null }> {
    const key = `${message.kind}|${message.requestId}|${JSON.stringify(message.payload)}`;
    if (this.seen.has(key)) this.out.write(`   ↳ the same message to ${message.destination}\n`);
    else {
      this.seen.add(key);
      this.out.write(formatConsoleNotice(message));
    }
    return { externalId: `demo-${message.id}` };
  }
}

const BOB = 'bob@acme.example';
const JANE = 'jane@acme.example';
const TERMINAL = ['completed', 'completed_with_issues', 'failed', 'aborted', 'cancelled', 'rejected'];

/** Runs the demo; resolves to an exit code. */
export async function runDemo(options: DemoOptions): Promise<number> {
  const out = options.out;
  const say = (line: string) => out.write(`\n▶ ${line}\n\n`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'upgrade-desk-demo-'));
  const config = loadConfig({
    DATA_DIR: dir,
    PORT: '0',
    LOG_LEVEL: 'error',
    EXECUTOR: 'simulate',
    SUPPORT_EMAIL: 'support@upgradedesk.example',
  });
  const device = await startSimulatedDevice({ version: '5.2.0' });
  const bot = await startBot(config, {
    // The demo runs beside a running bot: it takes no e-mail on the intake port.
    smtpIntake: false,
    output: out as Writable,
    sinks: [new DemoSink(out)],
    executor: new SimulateExecutor({
      stepMs: options.stepMs ?? 400,
      failures: 'merge:1',
      onFinish: (_d, version) => device.setVersion(version),
    }),
    statusChecker: new HttpStatusChecker({ timeoutMs: 2000, retries: 2, backoffMs: 200 }),
    queueOptions: { lockLifetimeMs: 5000 },
    outboxPollMs: 100,
  });
  const started = Date.now();
  try {
    const { deps, registry, dataSource } = bot.app;
    await dataSource.query(`UPDATE devices SET "statusUrl" = $1 WHERE name = 'edge-01'`.replace('$1', '?'), [device.statusUrl]);
    let seq = 0;
    const as = async (email: string, text: string, shown = text) => {
      out.write(`${email} types: ${shown}\n`);
      const reply = await dispatch(registry, deps, { id: `demo-${++seq}`, via: 'console', identity: { kind: 'email', address: email }, text });
      out.write(`${toPlainText(reply)}\n`);
      await bot.outbox.drain({ timeoutMs: 3000 });
      return reply;
    };
    say('Upgrade Desk demo: Acme Corp wants edge-01 (SysMaster 5.2.0) upgraded to 7.1.0.');
    out.write(`Records: the demo records, in a fresh SQLite database under ${dir}.\n`);
    out.write(`edge-01 is simulated by a real HTTP status endpoint at ${device.statusUrl}.\n`);

    say('1. Bob, a requester at Acme, asks for the upgrade but types the wrong MAC address: nothing is queued.');
    await as(BOB, '/upgrade request device=edge-01 version=7.1.0 when=now mac=00:1A:2B:3C:4D:FF ip=203.0.113.10 serial=SN-1001');

    say('2. Bob asks again with the hardware as on record; the representative must consent.');
    const filed = await as(BOB, '/upgrade request device=edge-01 version=7.1.0 when=now mac=00-1a-2b-3c-4d-5e ip=203.0.113.10 serial=SN-1001');
    const ref = /UPG-\d{6}/.exec(toPlainText(filed))?.[0];
    if (!ref) throw new Error('the demo request was not filed');

    say('3. Bob hands over the manager password; it is stored encrypted and never shown again in a channel.');
    await as(BOB, `/upgrade password ${ref} Tr0ub4dor&3`, `/upgrade password ${ref} ••••••••`);

    say('4. Jane, Acme\'s authorized representative, approves. The request is scheduled and the queue starts it.');
    await as(JANE, `/upgrade approve ${ref}`);

    say('5. The run goes through the states of [004]; the merge fails once and is retried. Messages as posted:');
    const deadline = Date.now() + 45_000;
    let request = await deps.store.requests.byRef(ref);
    while (request && !TERMINAL.includes(request.status) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      request = await deps.store.requests.byRef(ref);
    }
    await bot.outbox.drain({ timeoutMs: 5000 });
    if (!request || !TERMINAL.includes(request.status)) {
      say(`The run did not finish within the demo's time limit (status ${request?.status ?? 'unknown'}).`);
      return 1;
    }

    say('6. A day later the customer is asked for a rating, because edge-01 verifiably reports 7.1.0 (sent now for the demo).');
    await sendRatingPrompt(deps, request.id);
    await bot.outbox.drain({ timeoutMs: 3000 });
    await as(JANE, `/upgrade rate ${ref} 5 smooth, and the retry was handled for us`);

    say('7. What other programs see (upgrade-desk requests --json):');
    const finalRequest = (await deps.store.requests.byRef(ref))!;
    const customer = await deps.store.customers.byId(finalRequest.customerId);
    out.write(`${JSON.stringify(toRequestJson(finalRequest, customer?.name ?? ''), null, 2)}\n`);
    say(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s. Run "npm start" for the bot itself.`);
    return 0;
  } finally {
    await bot.stop();
    await device.close();
    if (options.keep) out.write(`Data kept in ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
