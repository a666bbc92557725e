import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { MailAuthentication } from '../src/ports.js';
import { jsonColumn, stringColumn, textColumn, timeColumn } from './columns.js';

/**
 * An e-mail the intake received (SMTP or IMAP): kept so that a message delivered again (same
 * Message-ID) is handled once, and so that what became of it can be looked up.
 */
@Entity('inbound_mail')
@Index('uq_inbound_mail_message_id', ['messageId'], { unique: true })
@Index('idx_inbound_mail_request_ref', ['requestRef'])
export class InboundMailEntity {
  @PrimaryGeneratedColumn('increment', { type: 'integer' })
  id: number;

  @Column(stringColumn(998))
  messageId: string;

  @Column(stringColumn(320))
  fromAddress: string;

  @Column(stringColumn(300))
  subject: string;

  @Column(timeColumn())
  receivedAt: Date;

  @Column(stringColumn(16, { nullable: true }))
  outcome: string | null;

  @Column(stringColumn(16, { nullable: true }))
  requestRef: string | null;

  @Column(jsonColumn({ nullable: true }))
  authentication: MailAuthentication | null;

  @Column(textColumn({ nullable: true }))
  note: string | null;
}
