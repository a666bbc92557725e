/**
 * The initial schema, written with TypeORM's schema API so that one migration runs on both SQLite
 * (better-sqlite3) and PostgreSQL. Must stay in step with entities/*.entity.ts: the integration
 * tests check that the schema builder finds nothing to change after running it.
 */
import { Table, TableForeignKey, TableIndex } from 'typeorm';
import type { MigrationInterface, QueryRunner, TableColumnOptions } from 'typeorm';

/** Column builders; the only per-driver difference is the type of points in time. */
function columns(queryRunner: QueryRunner) {
  const postgres = queryRunner.dataSource.driver.options.type === 'postgres';
  return {
    id: (): TableColumnOptions => ({
      name: 'id',
      type: 'integer',
      isPrimary: true,
      isGenerated: true,
      generationStrategy: 'increment',
    }),
    int: (name: string, nullable = false): TableColumnOptions => ({ name, type: 'integer', isNullable: nullable }),
    str: (name: string, length: number, nullable = false): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: String(length),
      isNullable: nullable,
    }),
    text: (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable }),
    /** JSON kept as text, portable across drivers. */
    json: (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable }),
    bool: (name: string): TableColumnOptions => ({ name, type: 'boolean', isNullable: false }),
    time: (name: string, nullable = false): TableColumnOptions => ({
      name,
      type: postgres ? 'timestamp with time zone' : 'datetime',
      isNullable: nullable,
    }),
  };
}

function index(name: string, columnNames: string[], unique = false): TableIndex {
  return new TableIndex({ name, columnNames, isUnique: unique });
}

function fk(column: string, table: string, onDelete: 'CASCADE' | 'NO ACTION' = 'NO ACTION'): TableForeignKey {
  return new TableForeignKey({
    columnNames: [column],
    referencedTableName: table,
    referencedColumnNames: ['id'],
    onDelete,
    onUpdate: 'NO ACTION',
  });
}

/** Tables in creation order; dropped in reverse. */
const TABLES = [
  'customers',
  'people',
  'devices',
  'releases',
  'windows',
  'upgrade_requests',
  'request_items',
  'approvals',
  'runs',
  'run_events',
  'audit_events',
  'outbox_messages',
  'secrets',
  'problem_reports',
] as const;

/** Creates every table of Upgrade Desk with its indexes and foreign keys. */
export class InitialSchema1763726400000 implements MigrationInterface {
  name = 'InitialSchema1763726400000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const c = columns(queryRunner);
    const tables: Table[] = [
      new Table({
        name: 'customers',
        columns: [
          c.id(),
          c.str('name', 200),
          c.str('email', 320),
          c.str('phone', 64),
          c.str('timezone', 64),
          c.str('lowTraffic', 100, true),
          c.str('partner', 200, true),
          c.str('slackChannel', 64, true),
          c.str('discordChannel', 64, true),
          c.json('notifyEmails'),
        ],
        indices: [index('uq_customers_name', ['name'], true)],
      }),
      new Table({
        name: 'people',
        columns: [
          c.id(),
          c.str('name', 200),
          c.str('email', 320),
          c.str('phone', 64, true),
          c.int('customerId', true),
          c.json('roles'),
          c.str('slackUserId', 64, true),
          c.str('discordUserId', 64, true),
          c.str('partner', 200, true),
        ],
        indices: [
          index('uq_people_email', ['email'], true),
          index('uq_people_slack_user_id', ['slackUserId'], true),
          index('uq_people_discord_user_id', ['discordUserId'], true),
          index('idx_people_customer_id', ['customerId']),
        ],
        foreignKeys: [fk('customerId', 'customers')],
      }),
      new Table({
        name: 'devices',
        columns: [
          c.id(),
          c.int('customerId'),
          c.str('name', 200),
          c.str('product', 100),
          c.str('serial', 100),
          c.str('mac', 64),
          c.str('ip', 64),
          c.str('version', 64),
          c.str('status', 32),
          c.bool('replication'),
          c.str('loadBalancerGroup', 100, true),
          c.bool('databasePrimary'),
          c.text('statusUrl', true),
        ],
        indices: [
          index('uq_devices_serial', ['serial'], true),
          index('uq_devices_customer_id_name', ['customerId', 'name'], true),
        ],
        foreignKeys: [fk('customerId', 'customers')],
      }),
      new Table({
        name: 'releases',
        columns: [
          c.id(),
          c.str('product', 100),
          c.str('version', 64),
          c.int('downtimeMinMinutes'),
          c.int('downtimeMaxMinutes'),
          c.json('prerequisites'),
          c.text('impact'),
          c.json('postUpgradeTasks'),
        ],
        indices: [index('uq_releases_product_version', ['product', 'version'], true)],
      }),
      new Table({
        name: 'windows',
        columns: [
          c.id(),
          c.str('kind', 16),
          c.time('startsAt', true),
          c.time('endsAt', true),
          c.text('reason', true),
          c.str('cron', 100, true),
          c.str('timezone', 64, true),
          c.int('durationMinutes', true),
          c.int('customerId', true),
        ],
        indices: [index('idx_windows_kind', ['kind'])],
        foreignKeys: [fk('customerId', 'customers', 'CASCADE')],
      }),
      new Table({
        name: 'upgrade_requests',
        columns: [
          c.id(),
          c.str('ref', 20, true),
          c.str('status', 32),
          c.int('customerId'),
          c.int('requesterId'),
          c.str('targetVersion', 64),
          c.str('scheduleMode', 16),
          c.time('scheduleAt', true),
          c.bool('forced'),
          c.bool('redeploy'),
          c.bool('notifyPartner'),
          c.bool('notifyCustomer'),
          c.text('note', true),
          c.bool('bulk'),
          c.json('findings'),
          c.str('via', 16),
          c.str('contactEmail', 320),
          c.int('assignedAgentId', true),
          c.text('statusReason', true),
          c.time('createdAt'),
          c.time('updatedAt'),
        ],
        indices: [
          index('uq_upgrade_requests_ref', ['ref'], true),
          index('idx_upgrade_requests_status', ['status']),
          index('idx_upgrade_requests_customer_id', ['customerId']),
        ],
        foreignKeys: [fk('customerId', 'customers'), fk('requesterId', 'people'), fk('assignedAgentId', 'people')],
      }),
      new Table({
        name: 'request_items',
        columns: [
          c.id(),
          c.int('requestId'),
          c.int('deviceId'),
          c.str('deviceName', 200),
          c.int('seq'),
          c.str('fromVersion', 64),
          c.str('targetVersion', 64),
          c.json('findings'),
        ],
        indices: [
          index('uq_request_items_request_id_seq', ['requestId', 'seq'], true),
          index('idx_request_items_device_id', ['deviceId']),
        ],
        foreignKeys: [fk('requestId', 'upgrade_requests', 'CASCADE'), fk('deviceId', 'devices')],
      }),
      new Table({
        name: 'approvals',
        columns: [
          c.id(),
          c.int('requestId'),
          c.int('personId'),
          c.str('decidedBy', 600),
          c.str('decision', 16),
          c.str('via', 16),
          c.time('decidedAt'),
          c.text('reason', true),
          c.json('acknowledged'),
        ],
        indices: [index('idx_approvals_request_id', ['requestId'])],
        foreignKeys: [fk('requestId', 'upgrade_requests', 'CASCADE'), fk('personId', 'people')],
      }),
      new Table({
        name: 'runs',
        columns: [
          c.id(),
          c.int('requestItemId'),
          c.str('state', 32),
          c.str('condition', 16),
          c.int('attempt'),
          c.str('outcome', 32),
          c.int('agentId', true),
          c.json('issues'),
          c.time('startedAt', true),
          c.time('finishedAt', true),
          c.time('createdAt'),
          c.time('updatedAt'),
        ],
        indices: [index('uq_runs_request_item_id', ['requestItemId'], true)],
        foreignKeys: [fk('requestItemId', 'request_items', 'CASCADE'), fk('agentId', 'people')],
      }),
      new Table({
        name: 'run_events',
        columns: [
          c.id(),
          c.int('runId'),
          c.str('fromState', 32),
          c.str('toState', 32),
          c.str('event', 64),
          c.str('actor', 320),
          c.text('message'),
          c.time('occurredAt'),
        ],
        indices: [index('idx_run_events_run_id', ['runId'])],
        foreignKeys: [fk('runId', 'runs', 'CASCADE')],
      }),
      new Table({
        name: 'audit_events',
        columns: [
          c.id(),
          c.time('occurredAt'),
          c.str('actor', 320),
          c.str('action', 100),
          c.str('entity', 100),
          c.str('entityId', 100),
          c.json('data'),
          c.str('invocationId', 100, true),
        ],
        indices: [
          index('idx_audit_events_entity_entity_id', ['entity', 'entityId']),
          index('idx_audit_events_action', ['action']),
        ],
      }),
      new Table({
        name: 'outbox_messages',
        columns: [
          c.id(),
          c.str('dedupeKey', 500),
          c.int('requestId', true),
          c.str('kind', 32),
          c.str('destination', 400),
          c.json('payload'),
          c.str('status', 16),
          c.int('attempts'),
          c.text('lastError', true),
          c.time('createdAt'),
          c.time('nextAttemptAt'),
          c.time('sentAt', true),
        ],
        indices: [
          index('uq_outbox_messages_dedupe_key', ['dedupeKey'], true),
          index('idx_outbox_messages_status_next_attempt_at', ['status', 'nextAttemptAt']),
          index('idx_outbox_messages_request_id', ['requestId']),
        ],
        foreignKeys: [fk('requestId', 'upgrade_requests', 'CASCADE')],
      }),
      new Table({
        name: 'secrets',
        columns: [
          c.id(),
          c.int('requestId'),
          c.str('name', 100),
          c.text('ciphertext', true),
          c.str('iv', 64, true),
          c.str('authTag', 64, true),
          c.time('createdAt'),
          c.time('purgedAt', true),
        ],
        indices: [index('uq_secrets_request_id_name', ['requestId', 'name'], true)],
        foreignKeys: [fk('requestId', 'upgrade_requests', 'CASCADE')],
      }),
      new Table({
        name: 'problem_reports',
        columns: [
          c.id(),
          c.int('requestId'),
          c.int('reporterId'),
          c.text('text'),
          c.str('via', 16),
          c.time('reportedAt'),
        ],
        indices: [index('idx_problem_reports_request_id', ['requestId'])],
        foreignKeys: [fk('requestId', 'upgrade_requests', 'CASCADE'), fk('reporterId', 'people')],
      }),
    ];
    for (const table of tables) {
      await queryRunner.createTable(table, false, true, true);
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const name of [...TABLES].reverse()) {
      await queryRunner.dropTable(name, true, true, true);
    }
  }
}
