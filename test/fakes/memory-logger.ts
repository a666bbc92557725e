/** A logger that keeps every entry, so tests can assert what was logged (and how often). */
import type { Logger } from '../../src/core/command.js';

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg?: string;
}

/** Collects log entries in memory. */
export class MemoryLogger implements Logger {
  readonly entries: LogEntry[] = [];

  info(obj: object, msg?: string): void {
    this.entries.push({ level: 'info', obj, msg });
  }

  warn(obj: object, msg?: string): void {
    this.entries.push({ level: 'warn', obj, msg });
  }

  error(obj: object, msg?: string): void {
    this.entries.push({ level: 'error', obj, msg });
  }
}
