/**
 * The peer of the ack benchmark: a bare Bolt app (the same @slack/bolt, HTTPReceiver, the same
 * signing secret) whose slash command handler acknowledges at once and does nothing else.
 * Usage: bare-bolt.js <signing secret>
 */
import bolt from '@slack/bolt';
import type { AddressInfo } from 'node:net';
import { serveCalls } from './common.js';

const { App, HTTPReceiver, LogLevel } = bolt;
const signingSecret = process.argv[2] ?? '';
const receiver = new HTTPReceiver({ signingSecret, endpoints: '/slack/events', processBeforeResponse: false, logLevel: LogLevel.ERROR });
// The bot's ids are given, so Bolt never calls auth.test (there is no Slack to ask).
const app = new App({ token: 'xoxb-bare-bolt', botId: 'B0BARE', botUserId: 'U0BARE', receiver, tokenVerificationEnabled: false, logLevel: LogLevel.ERROR });
app.command(/^\/upgrade(-admin)?$/, async ({ ack }) => {
  await ack();
});
const server = await app.start({ port: 0, host: '127.0.0.1' });
const { port } = server.address() as AddressInfo;

serveCalls({ url: `http://127.0.0.1:${port}/slack/events` }, {}, () => app.stop().then(() => undefined));
