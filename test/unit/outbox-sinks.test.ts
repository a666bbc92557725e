import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { reply, fields, text } from '../../src/core/reply.js';
import { ConsoleSink, formatConsoleNotice } from '../../src/infra/outbox/console-sink.js';
import { LogSink } from '../../src/infra/outbox/log-sink.js';
import type { OutboxMessage } from '../../src/ports.js';
import { MemoryLogger } from '../fakes/memory-logger.js';
import { storedMessage } from '../fakes/outbox-message.js';

function stored(overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  return storedMessage({
    id: 42,
    dedupeKey: 'UPG-000001:scheduled:slack:C0ACME',
    requestId: 1,
    payload: { ...reply('Upgrade scheduled', text('Sunday 01:00'), fields([['Version', '7.1.0']])), visibility: 'channel' },
    ...overrides,
  });
}

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
  return () => Buffer.concat(chunks).toString('utf8');
}

describe('console sink', () => {
  it('prints a header line and the reply as plain text, and names the message console-<id>', async () => {
    const out = new PassThrough();
    const read = collect(out);
    const sink = new ConsoleSink(out);
    expect(sink.accepts('discord:1100')).toBe(true);
    expect(await sink.deliver(stored())).toEqual({ externalId: 'console-42' });
    expect(read()).toBe('── to slack:C0ACME · scheduled · UPG-000001\nUpgrade scheduled\nSunday 01:00\n  Version: 7.1.0\n\n');
  });

  it('marks an edit with its revision and keeps the id of the message it edits', async () => {
    const out = new PassThrough();
    const read = collect(out);
    const edit = stored({ kind: 'progress', revision: 2, externalId: 'console-42', payload: { ...reply('50%'), visibility: 'channel' } });
    expect(await new ConsoleSink(out).deliver(edit)).toEqual({ externalId: 'console-42' });
    expect(read().split('\n')[0]).toBe('── to slack:C0ACME · progress · UPG-000001 · (updated, revision 2)');
  });

  it('prints a message changed before its first delivery as a first print with its revision, not as an edit', async () => {
    const out = new PassThrough();
    const read = collect(out);
    const decided = stored({ kind: 'consent_needed', revision: 1, externalId: null });
    expect(await new ConsoleSink(out).deliver(decided)).toEqual({ externalId: 'console-42' });
    expect(read().split('\n')[0]).toBe('── to slack:C0ACME · consent_needed · UPG-000001 · (revision 1)');
  });

  it('shows a payload that is not a reply as JSON, and leaves out the reference when there is no request', () => {
    expect(formatConsoleNotice(stored({ requestId: null, kind: 'maintenance_added', destination: 'ops', payload: { n: 1 } }))).toBe(
      '── to ops · maintenance_added\n{\n  "n": 1\n}\n\n',
    );
  });
});

describe('log sink', () => {
  it('logs who gets which notice of which request, without the body', async () => {
    const log = new MemoryLogger();
    expect(await new LogSink(log).deliver(stored())).toEqual({ externalId: 'log-42' });
    expect(log.entries).toEqual([
      {
        level: 'info',
        obj: {
          outboxId: 42,
          destination: 'slack:C0ACME',
          kind: 'scheduled',
          requestId: 1,
          ref: 'UPG-000001',
          title: 'Upgrade scheduled',
          revision: 0,
        },
        msg: 'notice',
      },
    ]);
    expect(JSON.stringify(log.entries)).not.toContain('Sunday');
  });
});
