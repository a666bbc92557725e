/**
 * Where notices go: a person reached as `person:<id>` and as their own address gets one mail, and a
 * request that came by e-mail is answered by e-mail.
 */
import { describe, expect, it } from '@jest/globals';
import { CONSOLE_ROUTES } from '../../src/core/command.js';
import { reply } from '../../src/core/reply.js';
import { destinationsFor, personDestination } from '../../src/services/notify.js';
import { BOB, edge01, harness, refOf } from './harness.js';

describe('notice destinations', () => {
  it('mails a requester who is also the contact address once', async () => {
    const h = await harness();
    const ref = refOf(await h.as(BOB).run(edge01()));
    const request = (await h.store.requests.byRef(ref))!;
    expect(request.contactEmail).toBe('bob@acme.example');
    const bob = (await h.store.people.byEmail(BOB))!;
    const destinations = await destinationsFor(
      h.store,
      { request, kind: 'completed', reply: reply('done'), audiences: ['contact_email', 'requester'], at: new Date() },
      CONSOLE_ROUTES,
    );
    expect(destinations).toEqual(['email:bob@acme.example']);
    const other = await destinationsFor(h.store, { request, kind: 'completed', reply: reply('done'), audiences: ['requester', 'contact_email'], at: new Date() }, CONSOLE_ROUTES);
    expect(other).toEqual([`person:${bob.id}`]);
  });

  it('answers a request that came by e-mail by e-mail, even for people with a chat account', async () => {
    const h = await harness();
    const ref = refOf(await h.as(BOB).run(edge01()));
    const request = (await h.store.requests.byRef(ref))!;
    const bob = (await h.store.people.byEmail(BOB))!;
    const routes = { ops: ['ops'], slack: true, discord: true };
    expect(personDestination(bob, request, routes)).toBe('slack:U0BOB');
    expect(personDestination(bob, { ...request, via: 'email' }, routes)).toBe(`person:${bob.id}`);
  });
});
