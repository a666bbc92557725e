/**
 * The fake Slack Web API (test/fakes/fake-slack.ts) in a process of its own, so that serving the
 * bot's calls costs the measured processes nothing. The runner asks it for what Slack received.
 * Usage: fake-slack-server.js [rateLimitPerChannelMs]
 */
import { FakeSlack } from '../test/fakes/fake-slack.js';
import { serveCalls } from './common.js';

/** What Slack received, per conversation (a member id posted to counts as that member's DM). */
export interface SlackStats {
  /** chat.postMessage calls accepted, per conversation. */
  posts: Record<string, number>;
  /** chat.update calls accepted, per conversation. */
  updates: Record<string, number>;
  /** Calls answered 429 by the per-channel rate limit. */
  rateLimited: number;
  /** Posts to response URLs (the answers to slash commands). */
  responses: number;
  /** Time of the last accepted post or update (ms since the epoch), or null. */
  lastWriteAt: number | null;
}

const limit = Number(process.argv[2] ?? 0);
const fake = await FakeSlack.start({ rateLimitPerChannelMs: limit > 0 ? limit : null });
const conversation = (channel: string): string => (/^[UW][A-Z0-9]+$/.test(channel) ? `D${channel.slice(1)}` : channel);

function stats(): SlackStats {
  const posts: Record<string, number> = {};
  const updates: Record<string, number> = {};
  let lastWriteAt: number | null = null;
  for (const call of fake.calls) {
    if (call.fault || (call.method !== 'chat.postMessage' && call.method !== 'chat.update')) continue;
    const channel = conversation(String(call.body.channel ?? '?'));
    const into = call.method === 'chat.postMessage' ? posts : updates;
    into[channel] = (into[channel] ?? 0) + 1;
    lastWriteAt = Math.max(lastWriteAt ?? 0, call.at);
  }
  return { posts, updates, rateLimited: fake.rateLimited, responses: fake.responses.length, lastWriteAt };
}

serveCalls(
  { apiUrl: fake.apiUrl, respondBase: fake.responseUrl('') },
  {
    stats,
    /** [response id, arrival time in ms since the epoch] of every response whose id starts with the prefix. */
    responseTimes: (prefix) => fake.responses.filter((r) => r.id.startsWith(String(prefix))).map((r) => [r.id, r.at]),
    reset: () => fake.reset(),
  },
  () => fake.close(),
);
