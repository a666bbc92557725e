/**
 * Pure mapping between TypeORM entities (persistence shape) and domain types. Dates are copied so
 * that no Date object is shared between the caller and the entity layer.
 */
import type { ApprovalEntity } from '../../entities/approval.entity.js';
import type { AuditEventEntity } from '../../entities/audit-event.entity.js';
import type { CustomerEntity } from '../../entities/customer.entity.js';
import type { DeviceEntity } from '../../entities/device.entity.js';
import type { OutboxMessageEntity } from '../../entities/outbox-message.entity.js';
import type { PersonEntity } from '../../entities/person.entity.js';
import type { ProblemReportEntity } from '../../entities/problem-report.entity.js';
import type { ReleaseEntity } from '../../entities/release.entity.js';
import type { RequestItemEntity } from '../../entities/request-item.entity.js';
import type { RunEventEntity } from '../../entities/run-event.entity.js';
import type { RunEntity } from '../../entities/run.entity.js';
import type { UpgradeRequestEntity } from '../../entities/upgrade-request.entity.js';
import type { WindowEntity } from '../../entities/window.entity.js';
import type {
  Approval,
  Customer,
  Device,
  MaintenanceWindow,
  Person,
  Release,
  RequestItem,
  Run,
  RunEvent,
  UpgradeRequest,
  UpgradeSlot,
} from '../domain/types.js';
import type { AuditEvent, NoticeKind, OutboxMessage, ProblemReport } from '../ports.js';

/** A copy of a date (null stays null). */
export function copyDate<D extends Date | null>(d: D): D {
  return (d === null ? null : new Date(d.getTime())) as D;
}

/** Customer entity → domain. */
export function toCustomer(e: CustomerEntity): Customer {
  return {
    id: e.id,
    name: e.name,
    email: e.email,
    phone: e.phone,
    timezone: e.timezone,
    lowTraffic: e.lowTraffic,
    partner: e.partner,
    slackChannel: e.slackChannel,
    discordChannel: e.discordChannel,
    notifyEmails: [...e.notifyEmails],
  };
}

/** Person entity → domain. */
export function toPerson(e: PersonEntity): Person {
  return {
    id: e.id,
    name: e.name,
    email: e.email,
    phone: e.phone,
    customerId: e.customerId,
    roles: [...e.roles],
    slackUserId: e.slackUserId,
    discordUserId: e.discordUserId,
    partner: e.partner,
  };
}

/** Device entity → domain. */
export function toDevice(e: DeviceEntity): Device {
  return {
    id: e.id,
    customerId: e.customerId,
    name: e.name,
    product: e.product,
    serial: e.serial,
    mac: e.mac,
    ip: e.ip,
    version: e.version,
    status: e.status,
    replication: e.replication,
    loadBalancerGroup: e.loadBalancerGroup,
    databasePrimary: e.databasePrimary,
    statusUrl: e.statusUrl,
  };
}

/** Release entity → domain. */
export function toRelease(e: ReleaseEntity): Release {
  return {
    id: e.id,
    product: e.product,
    version: e.version,
    downtimeMinutes: [e.downtimeMinMinutes, e.downtimeMaxMinutes],
    prerequisites: [...e.prerequisites],
    impact: e.impact,
    postUpgradeTasks: [...e.postUpgradeTasks],
  };
}

/** Window entity of kind "maintenance" → domain. */
export function toMaintenance(e: WindowEntity): MaintenanceWindow {
  if (e.kind !== 'maintenance' || !e.startsAt || !e.endsAt) throw new Error(`window ${e.id} is not a maintenance window`);
  return { id: e.id, kind: 'maintenance', start: copyDate(e.startsAt), end: copyDate(e.endsAt), reason: e.reason ?? '' };
}

/** Window entity of kind "upgrade" → domain. */
export function toSlot(e: WindowEntity): UpgradeSlot {
  if (e.kind !== 'upgrade' || e.cron === null || e.timezone === null || e.durationMinutes === null) {
    throw new Error(`window ${e.id} is not an upgrade slot`);
  }
  return {
    id: e.id,
    kind: 'upgrade',
    cron: e.cron,
    timezone: e.timezone,
    durationMinutes: e.durationMinutes,
    customerId: e.customerId,
  };
}

/** Run entity → domain. */
export function toRun(e: RunEntity): Run {
  return {
    id: e.id,
    requestItemId: e.requestItemId,
    state: e.state,
    condition: e.condition,
    attempt: e.attempt,
    outcome: e.outcome,
    agentId: e.agentId,
    issues: [...e.issues],
    startedAt: copyDate(e.startedAt),
    finishedAt: copyDate(e.finishedAt),
    updatedAt: copyDate(e.updatedAt),
    postCheck: e.postCheck ? { ...e.postCheck, at: new Date(e.postCheck.at) } : null,
  };
}

/** Run event entity → domain. */
export function toRunEvent(e: RunEventEntity): RunEvent {
  return {
    id: e.id,
    runId: e.runId,
    from: e.fromState,
    to: e.toState,
    event: e.event,
    actor: e.actor,
    message: e.message,
    at: copyDate(e.occurredAt),
  };
}

/** Request item entity (+ its run) → domain. */
export function toRequestItem(e: RequestItemEntity, run: RunEntity | null): RequestItem {
  return {
    id: e.id,
    requestId: e.requestId,
    deviceId: e.deviceId,
    deviceName: e.deviceName,
    seq: e.seq,
    fromVersion: e.fromVersion,
    targetVersion: e.targetVersion,
    findings: structuredClone(e.findings),
    run: run ? toRun(run) : null,
  };
}

/** Approval entity → domain. */
export function toApproval(e: ApprovalEntity): Approval {
  return {
    id: e.id,
    requestId: e.requestId,
    personId: e.personId,
    by: e.decidedBy,
    decision: e.decision,
    via: e.via,
    at: copyDate(e.decidedAt),
    reason: e.reason,
    acknowledged: [...e.acknowledged],
    fingerprint: structuredClone(e.fingerprint ?? []),
  };
}

/** Request entity + children → domain. */
export function toRequest(e: UpgradeRequestEntity, items: RequestItem[], approvals: Approval[]): UpgradeRequest {
  return {
    id: e.id,
    ref: e.ref ?? '',
    status: e.status,
    customerId: e.customerId,
    requesterId: e.requesterId,
    targetVersion: e.targetVersion,
    schedule: { mode: e.scheduleMode, at: copyDate(e.scheduleAt) },
    options: {
      forced: e.forced,
      redeploy: e.redeploy,
      notifyPartner: e.notifyPartner,
      notifyCustomer: e.notifyCustomer,
    },
    note: e.note,
    bulk: e.bulk,
    findings: structuredClone(e.findings),
    via: e.via,
    contactEmail: e.contactEmail,
    assignedAgentId: e.assignedAgentId,
    statusReason: e.statusReason,
    createdAt: copyDate(e.createdAt),
    updatedAt: copyDate(e.updatedAt),
    items,
    approvals,
  };
}

/** Audit entity → port type. */
export function toAuditEvent(e: AuditEventEntity): AuditEvent {
  return {
    id: e.id,
    at: copyDate(e.occurredAt),
    actor: e.actor,
    action: e.action,
    entity: e.entity,
    entityId: e.entityId,
    data: structuredClone(e.data),
    invocationId: e.invocationId,
  };
}

/** Outbox entity → port type. */
export function toOutboxMessage(e: OutboxMessageEntity): OutboxMessage {
  return {
    id: e.id,
    dedupeKey: e.dedupeKey,
    requestId: e.requestId,
    kind: e.kind as NoticeKind,
    destination: e.destination,
    payload: structuredClone(e.payload),
    status: e.status,
    attempts: e.attempts,
    createdAt: copyDate(e.createdAt),
    nextAttemptAt: copyDate(e.nextAttemptAt),
    sentAt: copyDate(e.sentAt),
    externalId: e.externalId,
    revision: e.revision,
    lastError: e.lastError,
    claimedUntil: copyDate(e.claimedUntil),
  };
}

/** Problem report entity → port type. */
export function toProblemReport(e: ProblemReportEntity): ProblemReport {
  return {
    id: e.id,
    requestId: e.requestId,
    reporterId: e.reporterId,
    text: e.text,
    via: e.via,
    at: copyDate(e.reportedAt),
  };
}
