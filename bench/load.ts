/**
 * The ack benchmark's load: `clients` concurrent clients, each on its own keep-alive connection
 * (node:http Agent, one socket), each sending signed slash commands one after another. The time of
 * each request runs from handing it to the socket until the whole response has arrived.
 */
import http from 'node:http';
import { signSlackRequest, slashCommandBody } from '../test/fakes/slack-signing.js';
import { msSince } from './common.js';

/** Where the commands go and how they are signed. */
export interface LoadTarget {
  url: string;
  signingSecret: string;
}

/** One command to send: the member who sends it and the text after `/upgrade`. */
export interface Command {
  userId: string;
  text: string;
}

/** What one phase measured. */
export interface PhaseResult {
  latenciesMs: number[];
  /** Requests without a 200 (status code or error text → count). */
  failures: Record<string, number>;
  /** [response id, time the request was sent in ms since the epoch], for the replies' latency. */
  sent: Array<[string, number]>;
  /** Response ids of commands acknowledged with "busy" (not run; nothing will come on the response URL). */
  busy: string[];
  wallMs: number;
}

/** One keep-alive connection per client. */
export function clientAgents(clients: number): http.Agent[] {
  return Array.from({ length: clients }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
}

function post(agent: http.Agent, url: URL, signingSecret: string, body: string): Promise<{ status: string; ms: number; body: string }> {
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': String(Buffer.byteLength(body)),
    ...signSlackRequest(signingSecret, body, Math.floor(Date.now() / 1000)),
  };
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const req = http.request({ agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: String(res.statusCode), ms: msSince(start), body: text }));
      res.on('error', (e) => resolve({ status: e.message, ms: msSince(start), body: '' }));
    });
    req.setTimeout(15_000, () => req.destroy(new Error('timeout after 15 s')));
    req.on('error', (e) => resolve({ status: e.message, ms: msSince(start), body: '' }));
    req.end(body);
  });
}

let sequence = 0;

/**
 * Every client sends `perClient` commands in a row (`command(client, n)`); all clients at once.
 * Each command carries a response URL `${respondBase}${idPrefix}-<n>` so its answer can be matched.
 */
export async function runPhase(
  target: LoadTarget,
  agents: http.Agent[],
  perClient: number,
  command: (client: number, n: number) => Command,
  respondBase: string,
  idPrefix: string,
): Promise<PhaseResult> {
  const url = new URL(target.url);
  const latenciesMs: number[] = [];
  const failures: Record<string, number> = {};
  const sent: Array<[string, number]> = [];
  const busy: string[] = [];
  const start = process.hrtime.bigint();
  await Promise.all(
    agents.map(async (agent, client) => {
      for (let n = 0; n < perClient; n++) {
        const { userId, text } = command(client, n);
        const id = `${idPrefix}-${++sequence}`;
        const body = slashCommandBody({ user_id: userId, text, response_url: `${respondBase}${id}` });
        sent.push([id, Date.now()]);
        const answer = await post(agent, url, target.signingSecret, body);
        if (answer.status === '200') latenciesMs.push(answer.ms);
        else failures[answer.status] = (failures[answer.status] ?? 0) + 1;
        if (answer.body.includes('(busy)') || answer.body.includes('was not run')) busy.push(id);
      }
    }),
  );
  return { latenciesMs, failures, sent, busy, wallMs: msSince(start) };
}
