/** Expected failures are values: `Result<T, E>` with a stable `code` on the error side. */
export type Result<T, E = DomainError> = { ok: true; value: T } | { ok: false; error: E };

/** An expected failure with a stable machine-readable code and a message that says what to do. */
export interface DomainError {
  code: string;
  message: string;
  /** Extra facts for renderers, e.g. suggested valid times. */
  details?: Record<string, unknown>;
}

/** Wraps a success. */
export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

/** Wraps an expected failure. */
export function err<E = DomainError>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}

/** Shorthand for a DomainError failure. */
export function fail(code: string, message: string, details?: Record<string, unknown>): { ok: false; error: DomainError } {
  return err(details ? { code, message, details } : { code, message });
}
