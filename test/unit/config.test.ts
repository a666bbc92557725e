import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/config.js';

/** The problems loadConfig reports for `env`, or [] when it accepts it. */
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/tmp');
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('run settings in the configuration', () => {
  it('uses the documented defaults when nothing is set', () => {
    expect(loadConfig({}, '/tmp').runs).toEqual({
      concurrency: 4,
      script: undefined,
      simulate: { stepMs: 1500, failures: [] },
      statusCheck: { timeoutMs: 5000, retries: 3 },
    });
  });

  it('treats the empty values of a copied .env.example as unset', () => {
    const config = loadConfig({ SCRIPT_COMMAND: '', SIMULATE_FAIL: '', RUN_CONCURRENCY: '', STATUS_CHECK_RETRIES: '' }, '/tmp');
    expect(config.runs.concurrency).toBe(4);
    expect(config.runs.simulate.failures).toEqual([]);
    expect(config.runs.statusCheck.retries).toBe(3);
  });

  it('requires SCRIPT_COMMAND when EXECUTOR=script', () => {
    expect(problems({ EXECUTOR: 'script' })).toEqual(['SCRIPT_COMMAND: required when EXECUTOR=script']);
  });

  it('maps the script command and its timeout', () => {
    const config = loadConfig({ EXECUTOR: 'script', SCRIPT_COMMAND: '/opt/upgrade/step.sh', SCRIPT_TIMEOUT_MS: '120000' }, '/tmp');
    expect(config.executor).toBe('script');
    expect(config.runs.script).toEqual({ command: '/opt/upgrade/step.sh', timeoutMs: 120000 });
  });

  it('defaults the script timeout to ten minutes', () => {
    expect(loadConfig({ SCRIPT_COMMAND: 'true' }, '/tmp').runs.script?.timeoutMs).toBe(600_000);
  });

  it('parses SIMULATE_FAIL into injected failures', () => {
    const config = loadConfig({ EXECUTOR: 'simulate', SIMULATE_STEP_MS: '0', SIMULATE_FAIL: 'merge:1, split:broken' }, '/tmp');
    expect(config.runs.simulate).toEqual({
      stepMs: 0,
      failures: [
        { state: 'merge', kind: 'transient', times: 1 },
        { state: 'split', kind: 'broken' },
      ],
    });
  });

  it.each([
    ['merge', /SIMULATE_FAIL: "merge" is not state:N/],
    ['explode:1', /SIMULATE_FAIL: "explode" is not a run state/],
    ['idle:1', /SIMULATE_FAIL: "idle" is not a run state/],
    ['merge:0', /SIMULATE_FAIL: "0" in "merge:0" is not a count/],
    ['merge:sometimes', /SIMULATE_FAIL: "sometimes" in "merge:sometimes" is not a count/],
    ['merge:1,merge:busy', /SIMULATE_FAIL: "merge" is given twice/],
  ])('rejects SIMULATE_FAIL=%s', (spec, message) => {
    const found = problems({ SIMULATE_FAIL: spec });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
    expect(found[0]).toContain('expected e.g. "merge:1"');
  });

  it.each([
    ['RUN_CONCURRENCY', '0'],
    ['RUN_CONCURRENCY', 'four'],
    ['RUN_CONCURRENCY', '2.5'],
    ['SCRIPT_TIMEOUT_MS', '-1'],
    ['SIMULATE_STEP_MS', '1e3'],
    ['STATUS_CHECK_TIMEOUT_MS', '10'],
    ['STATUS_CHECK_RETRIES', '21'],
  ])('rejects %s=%s with the expected range', (name, value) => {
    const found = problems({ [name]: value });
    expect(found).toEqual([expect.stringMatching(new RegExp(`^${name}: expected a whole number \\d+-\\d+.* \\(got "${value.replace('.', '\\.')}"\\)$`))]);
  });

  it('lists every bad run setting at once, the missing script command included', () => {
    const found = problems({ EXECUTOR: 'script', RUN_CONCURRENCY: '0', STATUS_CHECK_RETRIES: 'x', SIMULATE_FAIL: 'nope' });
    expect(found.map((p) => p.split(':')[0]).sort()).toEqual(['RUN_CONCURRENCY', 'SCRIPT_COMMAND', 'SIMULATE_FAIL', 'STATUS_CHECK_RETRIES']);
  });

  it('does not ask for a script command once one is given', () => {
    const found = problems({ EXECUTOR: 'script', SCRIPT_COMMAND: 'run.sh', RUN_CONCURRENCY: '0' });
    expect(found).toEqual([expect.stringMatching(/^RUN_CONCURRENCY:/)]);
  });
});

describe('Slack settings in the configuration', () => {
  const SECRET = '0123456789abcdef0123456789abcdef';
  const names = (env: Record<string, string>) => problems(env).map((p) => p.split(':')[0]);

  it('runs without Slack when no Slack variable is set', () => {
    expect(loadConfig({}, '/tmp').slack).toBeUndefined();
  });

  it.each([
    ['a signing secret without a bot token', { SLACK_SIGNING_SECRET: SECRET }, ['SLACK_BOT_TOKEN']],
    ['an app token without a bot token', { SLACK_APP_TOKEN: 'xapp-1-abc' }, ['SLACK_BOT_TOKEN']],
    ['a bot token without a signing secret or app token', { SLACK_BOT_TOKEN: 'xoxb-1' }, ['SLACK_SIGNING_SECRET']],
    ['a user token in place of the bot token', { SLACK_BOT_TOKEN: 'xoxp-1', SLACK_SIGNING_SECRET: SECRET }, ['SLACK_BOT_TOKEN']],
    ['a bot token in place of the app token', { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xoxb-2' }, ['SLACK_APP_TOKEN']],
    ['a channel name in place of its id', { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: SECRET, SLACK_OPS_CHANNEL: '#ops' }, ['SLACK_OPS_CHANNEL']],
    ['a signing secret with spaces', { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'not a secret at all' }, ['SLACK_SIGNING_SECRET']],
    ['an API URL that is not a URL', { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: 'slack' }, ['SLACK_API_URL']],
  ])('refuses %s, naming the variable', (_what, env, expected) => {
    expect(names(env)).toEqual(expected);
  });

  it('accepts HTTP mode and Socket Mode settings', () => {
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: SECRET, SLACK_OPS_CHANNEL: 'C0123ABCD' }, '/tmp').slack).toEqual({
      botToken: 'xoxb-1',
      signingSecret: SECRET,
      appToken: undefined,
      apiUrl: undefined,
      opsChannel: 'C0123ABCD',
    });
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1-abc' }, '/tmp').slack?.appToken).toBe('xapp-1-abc');
  });
});

describe('Discord settings in the configuration', () => {
  const APP = '123456789012345678';
  const names = (env: Record<string, string>) => problems(env).map((p) => p.split(':')[0]);

  it('runs without Discord when no Discord variable is set', () => {
    expect(loadConfig({}, '/tmp').discord).toBeUndefined();
  });

  it.each([
    ['a token without the application id', { DISCORD_TOKEN: 'abc.def.ghi' }, ['DISCORD_APPLICATION_ID']],
    ['an application id without the token', { DISCORD_APPLICATION_ID: APP }, ['DISCORD_TOKEN']],
    ['an application name in place of its id', { DISCORD_TOKEN: 'abc.def.ghi', DISCORD_APPLICATION_ID: 'Upgrade Desk' }, ['DISCORD_APPLICATION_ID']],
    ['a channel name in place of its id', { DISCORD_TOKEN: 'abc.def.ghi', DISCORD_APPLICATION_ID: APP, DISCORD_OPS_CHANNEL: '#ops' }, ['DISCORD_OPS_CHANNEL']],
    ['an ops channel without a token', { DISCORD_OPS_CHANNEL: '123456789012345679' }, ['DISCORD_TOKEN']],
    ['a REST base that is not a URL', { DISCORD_TOKEN: 'abc.def.ghi', DISCORD_APPLICATION_ID: APP, DISCORD_API_URL: 'discord' }, ['DISCORD_API_URL']],
  ])('refuses %s, naming the variable', (_what, env, expected) => {
    expect(names(env)).toEqual(expected);
  });

  it('accepts a token, the application id, a REST base and the ops channel', () => {
    expect(
      loadConfig(
        { DISCORD_TOKEN: 'abc.def.ghi', DISCORD_APPLICATION_ID: APP, DISCORD_API_URL: 'http://127.0.0.1:9/api', DISCORD_OPS_CHANNEL: '123456789012345679' },
        '/tmp',
      ).discord,
    ).toEqual({ token: 'abc.def.ghi', applicationId: APP, apiUrl: 'http://127.0.0.1:9/api', opsChannel: '123456789012345679' });
  });
});
