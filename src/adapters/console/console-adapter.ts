/**
 * The console adapter: the same commands as chat, typed as a known person (by e-mail). On a
 * terminal it is a REPL; otherwise it reads one command per line from stdin and prints each reply.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Deps } from '../../core/command.js';
import { dispatch, unknownPersonReply } from '../../core/dispatch.js';
import type { Registry } from '../../core/dispatch.js';
import { toPlainText } from '../../core/reply.js';

export interface ConsoleOptions {
  deps: Deps;
  registry: Registry;
  /** The person typing, as on record. */
  email: string;
  input: Readable;
  output: Writable;
  /** REPL with a prompt (a terminal) or script mode. */
  interactive: boolean;
  newInvocationId: () => string;
}

/** Longest line read; longer lines are refused, not truncated. */
export const MAX_LINE_LENGTH = 8000;

/** "request device=…" means "/upgrade request device=…": the group may be left out. */
export function normalizeLine(line: string): string {
  const trimmed = line.trim();
  if (/^\/?upgrade(-admin)?(\s|$)/i.test(trimmed)) return trimmed;
  return `/upgrade ${trimmed}`;
}

/** Runs the console until the input ends (or `exit`); returns the process exit code. */
export async function runConsole(opts: ConsoleOptions): Promise<number> {
  const { deps, registry, output } = opts;
  const person = await deps.store.people.byEmail(opts.email);
  if (!person) {
    output.write(toPlainText(unknownPersonReply({ kind: 'email', address: opts.email })) + '\n');
    return 2;
  }
  const rl = createInterface({ input: opts.input, output: opts.interactive ? output : undefined, terminal: opts.interactive });
  if (opts.interactive) {
    output.write(
      `Upgrade Desk console, signed in as ${person.name} <${person.email}> (${person.roles.join(', ')}).\n` +
        'Type a command such as "help", "list" or "/upgrade-admin help"; "exit" or Ctrl-D leaves.\n',
    );
    rl.setPrompt('upgrade> ');
    rl.prompt();
  }
  for await (const raw of rl) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) {
      if (opts.interactive) rl.prompt();
      continue;
    }
    if (opts.interactive && ['exit', 'quit', '.exit'].includes(line.toLowerCase())) break;
    if (!opts.interactive) output.write(`> ${line.length > 200 ? line.slice(0, 199) + '…' : line}\n`);
    const text =
      line.length > MAX_LINE_LENGTH
        ? 'Error (invalid_arguments): the line is too long.'
        : toPlainText(
            await dispatch(registry, deps, {
              id: opts.newInvocationId(),
              via: 'console',
              identity: { kind: 'email', address: person.email },
              text: normalizeLine(line),
            }),
          );
    output.write(text + '\n\n');
    if (opts.interactive) rl.prompt();
  }
  rl.close();
  return 0;
}
