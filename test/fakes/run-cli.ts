/** Runs the built `upgrade-desk` command line to its end, bounded in time, for the tests that spawn it. */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  bin: string;
  cwd: string;
  env: Record<string, string>;
  input?: string;
  timeoutMs?: number;
  /** Called with the child as soon as it is spawned (to kill it at the end of a suite). */
  onSpawn?: (child: ChildProcessWithoutNullStreams) => void;
}

/** Spawns `node <bin> ...args`, feeds `input`, and resolves with the exit code and output (killed and rejected after `timeoutMs`). */
export function runCli(args: string[], options: RunCliOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.bin, ...args], { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    options.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`upgrade-desk ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
