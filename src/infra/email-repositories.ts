/**
 * TypeORM repositories of the e-mail intake: received mail remembered by Message-ID (claimed by one
 * INSERT … ON CONFLICT DO NOTHING, so concurrent deliveries of one message are handled once) and
 * one-time approval links (used by one conditional UPDATE, so at most one decision wins).
 */
import type { EntityManager } from 'typeorm';
import { ApprovalLinkEntity } from '../../entities/approval-link.entity.js';
import { InboundMailEntity } from '../../entities/inbound-mail.entity.js';
import type { ApprovalLink, ApprovalLinkRepository, InboundMail, InboundMailRepository } from '../ports.js';
import { copyDate } from './entity-mappers.js';

function toInboundMail(e: InboundMailEntity): InboundMail {
  return {
    id: e.id,
    messageId: e.messageId,
    fromAddress: e.fromAddress,
    subject: e.subject,
    receivedAt: copyDate(e.receivedAt),
    outcome: e.outcome,
    requestRef: e.requestRef,
    authentication: e.authentication ? { ...e.authentication } : null,
    note: e.note,
  };
}

function toApprovalLink(e: ApprovalLinkEntity): ApprovalLink {
  return {
    id: e.id,
    requestId: e.requestId,
    personId: e.personId,
    createdAt: copyDate(e.createdAt),
    expiresAt: copyDate(e.expiresAt),
    usedAt: e.usedAt ? copyDate(e.usedAt) : null,
    decision: e.decision === 'approved' || e.decision === 'declined' ? e.decision : null,
  };
}

/** The received-mail repository on one entity manager (a transaction's or the data source's). */
export function inboundMailRepositoryFor(m: EntityManager): InboundMailRepository {
  return {
    async claim(mail) {
      const [sql, params] = m
        .createQueryBuilder()
        .insert()
        .into(InboundMailEntity)
        .values({
          messageId: mail.messageId,
          fromAddress: mail.fromAddress,
          subject: mail.subject,
          receivedAt: copyDate(mail.receivedAt),
          outcome: null,
          requestRef: null,
          authentication: null,
          note: null,
        })
        .orIgnore()
        .updateEntity(false)
        .getQueryAndParameters();
      // A row comes back only when this call stored it (SQLite ≥ 3.35 and PostgreSQL).
      const rows: unknown = await m.query(`${sql.trimEnd()} RETURNING "id"`, params);
      if (!Array.isArray(rows) || rows.length === 0) return null;
      const found = await m.findOne(InboundMailEntity, { where: { id: Number((rows[0] as { id: unknown }).id) } });
      return found ? toInboundMail(found) : null;
    },
    async settle(id, result) {
      await m.update(InboundMailEntity, { id }, {
        outcome: result.outcome,
        requestRef: result.requestRef,
        authentication: result.authentication,
        note: result.note,
      });
    },
    async byMessageId(messageId) {
      const e = await m.findOne(InboundMailEntity, { where: { messageId } });
      return e ? toInboundMail(e) : null;
    },
    async forRequest(ref) {
      return (await m.find(InboundMailEntity, { where: { requestRef: ref }, order: { id: 'ASC' } })).map(toInboundMail);
    },
  };
}

/** The approval-link repository on one entity manager. */
export function approvalLinkRepositoryFor(m: EntityManager): ApprovalLinkRepository {
  return {
    async create(link) {
      await m.insert(ApprovalLinkEntity, {
        id: link.id,
        requestId: link.requestId,
        personId: link.personId,
        createdAt: copyDate(link.createdAt),
        expiresAt: copyDate(link.expiresAt),
        usedAt: null,
        decision: null,
      });
    },
    async byId(id) {
      const e = await m.findOne(ApprovalLinkEntity, { where: { id } });
      return e ? toApprovalLink(e) : null;
    },
    async use(id, at, decision) {
      const result = await m
        .createQueryBuilder()
        .update(ApprovalLinkEntity)
        .set({ usedAt: copyDate(at), decision })
        .where('id = :id AND "usedAt" IS NULL', { id })
        .execute();
      return (result.affected ?? 0) > 0;
    },
    async forRequest(requestId) {
      return (await m.find(ApprovalLinkEntity, { where: { requestId }, order: { createdAt: 'ASC', id: 'ASC' } })).map(toApprovalLink);
    },
  };
}
