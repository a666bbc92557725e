/**
 * TypeORM repository of the web pages' staff sign-in: single-use links, used by one conditional
 * UPDATE (so of two clicks at the same moment exactly one signs in) and swept once expired.
 */
import type { EntityManager } from 'typeorm';
import { SignInLinkEntity } from '../../entities/sign-in-link.entity.js';
import type { SignInLink, SignInLinkRepository } from '../ports.js';
import { copyDate } from './entity-mappers.js';

function toSignInLink(e: SignInLinkEntity): SignInLink {
  return {
    id: e.id,
    personId: e.personId,
    createdAt: copyDate(e.createdAt),
    expiresAt: copyDate(e.expiresAt),
    usedAt: e.usedAt ? copyDate(e.usedAt) : null,
  };
}

/** The sign-in-link repository on one entity manager (a transaction's or the data source's). */
export function signInLinkRepositoryFor(m: EntityManager): SignInLinkRepository {
  return {
    async create(link) {
      await m.insert(SignInLinkEntity, {
        id: link.id,
        personId: link.personId,
        createdAt: copyDate(link.createdAt),
        expiresAt: copyDate(link.expiresAt),
        usedAt: null,
      });
    },
    async byId(id) {
      const e = await m.findOne(SignInLinkEntity, { where: { id } });
      return e ? toSignInLink(e) : null;
    },
    async use(id, at) {
      const result = await m
        .createQueryBuilder()
        .update(SignInLinkEntity)
        .set({ usedAt: copyDate(at) })
        .where('id = :id AND "usedAt" IS NULL', { id })
        .execute();
      return (result.affected ?? 0) > 0;
    },
    async deleteExpired(before) {
      const result = await m
        .createQueryBuilder()
        .delete()
        .from(SignInLinkEntity)
        .where('"expiresAt" < :before', { before: copyDate(before) })
        .execute();
      return result.affected ?? 0;
    },
  };
}
