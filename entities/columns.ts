/**
 * Column helpers shared by the entities so that one entity definition works on SQLite and
 * PostgreSQL: explicit types only (decorator metadata is not trusted), JSON kept as portable text.
 */
import type { ColumnOptions, ValueTransformer } from 'typeorm';

/** Stores any JSON-serialisable value as text and parses it back; SQL NULL stands for null. */
export const jsonText: ValueTransformer = {
  to: (value: unknown): unknown => (value === undefined || value === null ? value : JSON.stringify(value)),
  from: (value: unknown): unknown => (typeof value === 'string' ? (JSON.parse(value) as unknown) : value),
};

/** Like `jsonText` for NOT NULL columns: null is stored as the JSON text `null`. */
export const jsonTextNotNull: ValueTransformer = {
  to: (value: unknown): unknown => (value === undefined ? value : JSON.stringify(value)),
  from: (value: unknown): unknown => (typeof value === 'string' ? (JSON.parse(value) as unknown) : value),
};

/** A JSON value in a text column (arrays, findings, payloads). */
export function jsonColumn(options: { nullable?: boolean } = {}): ColumnOptions {
  const nullable = options.nullable ?? false;
  return { type: 'text', nullable, transformer: nullable ? jsonText : jsonTextNotNull };
}

/**
 * A point in time. `Date` maps to `datetime` (UTC text, millisecond precision) on SQLite; on
 * PostgreSQL the data source turns these columns into `timestamptz` (see src/infra/data-source.ts).
 */
export function timeColumn(options: { nullable?: boolean } = {}): ColumnOptions {
  return { type: Date, nullable: options.nullable ?? false };
}

/** A bounded string. */
export function stringColumn(length: number, options: { nullable?: boolean } = {}): ColumnOptions {
  return { type: 'varchar', length, nullable: options.nullable ?? false };
}

/** Free text. */
export function textColumn(options: { nullable?: boolean } = {}): ColumnOptions {
  return { type: 'text', nullable: options.nullable ?? false };
}

/** A 32-bit integer (also used for foreign keys to serial ids). */
export function intColumn(options: { nullable?: boolean } = {}): ColumnOptions {
  return { type: 'integer', nullable: options.nullable ?? false };
}

/** A boolean (0/1 on SQLite, boolean on PostgreSQL). */
export function boolColumn(): ColumnOptions {
  return { type: 'boolean', nullable: false };
}
