import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { uniqueName, zouTargets } from '@kitsu-actions/testing';
import type { ZouTarget } from '@kitsu-actions/testing';
import type { ZouClient } from '../client.ts';
import { sessionClients } from './sessions.ts';

// Contract: custom actions are read by every role but vendors and written by admins only; `url` holds
// 400 characters at most. Other suites of the run read Zou's custom actions (and expect a url on each):
// every action made here has a unique name and a url, and is deleted at the end.

const FORBIDDEN = { name: 'ZouError', status: 403 };
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

describe.each(zouTargets)('$name: custom actions', ({ start }) => {
  let zou: ZouTarget;
  let admin: ZouClient;
  const made: string[] = [];

  /** A client logged in as that person (through a session token from their login). */
  const as = sessionClients(() => zou);
  const url = (length?: number) => {
    const base = `https://actions.studio.example/contract/${randomUUID()}`;
    return length === undefined ? base : `${base}/`.padEnd(length, 'a');
  };

  beforeAll(async () => {
    zou = await start();
    admin = await as('admin');
  });
  afterAll(async () => {
    for (const id of made) {
      // Cleanup of what this file made: an already deleted one answers 404, nothing else is expected.
      const answer = await zou.call(`/data/custom-actions/${id}`, {
        method: 'DELETE',
        token: await zou.sessionToken('admin'),
      });
      if (answer.status !== 204 && answer.status !== 404) {
        throw new Error(`cleanup of custom action ${id} answered ${String(answer.status)}`);
      }
    }
    await zou.close();
  });

  it('an admin creates, lists, updates and deletes one', async () => {
    const name = uniqueName('Contract render');
    const created = await admin.createCustomAction({ name, url: url(), entity_type: 'shot', is_ajax: true });
    made.push(created.id);
    expect(created).toMatchObject({ name, entity_type: 'shot', is_ajax: true, type: 'CustomAction' });
    expect((await admin.listCustomActions()).find((a) => a.id === created.id)).toEqual(created);
    const moved = url();
    const updated = await admin.updateCustomAction(created.id, { url: moved });
    // Only what is given changes.
    expect(updated).toMatchObject({ id: created.id, name, url: moved, entity_type: 'shot', is_ajax: true });
    await admin.deleteCustomAction(created.id);
    expect((await admin.listCustomActions()).map((a) => a.id)).not.toContain(created.id);
    await expect(admin.updateCustomAction(created.id, { url: url() })).rejects.toMatchObject({ status: 404 });
    await expect(admin.deleteCustomAction(created.id)).rejects.toMatchObject({ status: 404 });
  });

  it('defaults entity_type to "all" and is_ajax to false', async () => {
    const name = uniqueName('Contract defaults');
    const answer = await zou.call('/data/custom-actions', {
      method: 'POST',
      token: await zou.sessionToken('admin'),
      body: { name, url: url() },
    });
    expect(answer).toMatchObject({ status: 201, body: { name, entity_type: 'all', is_ajax: false } });
    made.push((answer.body as { id: string }).id);
  });

  it("holds a url of 400 characters, refuses 401 (400, the database's message); the client refuses it first", async () => {
    const token = await zou.sessionToken('admin');
    const longest = url(400);
    const kept = await admin.createCustomAction({ name: uniqueName('Contract long url'), url: longest });
    made.push(kept.id);
    expect(kept.url).toBe(longest);
    const tooLong = await zou.call('/data/custom-actions', {
      method: 'POST',
      token,
      body: { name: uniqueName('Contract too long'), url: url(401) },
    });
    expect(tooLong).toEqual(
      expect.objectContaining({
        status: 400,
        body: { message: 'One of the provided values has an invalid format.' },
      }),
    );
    const update = await zou.call(`/data/custom-actions/${kept.id}`, {
      method: 'PUT',
      token,
      body: { url: url(401) },
    });
    expect(update).toEqual(
      expect.objectContaining({
        status: 400,
        body: { message: 'One of the provided values has an invalid format.' },
      }),
    );
    await expect(
      admin.createCustomAction({ name: uniqueName('Contract'), url: url(401) }),
    ).rejects.toBeInstanceOf(z.ZodError);
  });

  it('refuses a missing name, a name over 80 characters and an unknown field on create; ignores it on update', async () => {
    const token = await zou.sessionToken('admin');
    const post = (body: unknown) => zou.call('/data/custom-actions', { method: 'POST', token, body });
    expect(await post({ url: url() })).toMatchObject({
      status: 400,
      body: { error: true, message: "The 'name' field is required and cannot be None." },
    });
    expect(await post({ name: 'n'.repeat(81), url: url() })).toMatchObject({
      status: 400,
      body: { message: 'One of the provided values has an invalid format.' },
    });
    expect(await post({ name: uniqueName('Contract'), url: url(), colour: 'red' })).toEqual(
      expect.objectContaining({
        status: 400,
        body: { message: "'colour' is an invalid keyword argument for CustomAction" },
      }),
    );
    const kept = await admin.createCustomAction({ name: uniqueName('Contract keep'), url: url() });
    made.push(kept.id);
    const update = await zou.call(`/data/custom-actions/${kept.id}`, {
      method: 'PUT',
      token,
      body: { colour: 'red', is_ajax: true },
    });
    expect(update).toMatchObject({ status: 200, body: { id: kept.id, is_ajax: true } });
    expect(update.body).not.toHaveProperty('colour');
    expect(
      await zou.call(`/data/custom-actions/${kept.id}`, { method: 'PUT', token, body: { name: null } }),
    ).toMatchObject({
      status: 400,
      body: { error: true, message: "The 'name' field cannot be set to None." },
    });
  });

  it.each(['manager', 'bot'] as const)('refuses every write of %s (admins only) with 403', async (who) => {
    const client = await as(who);
    await expect(
      client.createCustomAction({ name: uniqueName('Contract'), url: url() }),
    ).rejects.toMatchObject(FORBIDDEN);
    const kept = await admin.createCustomAction({ name: uniqueName('Contract guarded'), url: url() });
    made.push(kept.id);
    await expect(client.updateCustomAction(kept.id, { url: url() })).rejects.toMatchObject(FORBIDDEN);
    await expect(client.deleteCustomAction(kept.id)).rejects.toMatchObject(FORBIDDEN);
    // An unknown id is a 404 before the permission check.
    await expect(client.updateCustomAction(UNKNOWN, { url: url() })).rejects.toMatchObject({ status: 404 });
  });

  it.each(['manager', 'supervisor', 'artist', 'client', 'producer', 'bot'] as const)(
    '%s lists them; vendors may not (403)',
    async (who) => {
      const kept = await admin.createCustomAction({ name: uniqueName('Contract listed'), url: url() });
      made.push(kept.id);
      const client = await as(who);
      expect((await client.listCustomActions()).map((a) => a.id)).toContain(kept.id);
      await expect((await as('vendor')).listCustomActions()).rejects.toMatchObject(FORBIDDEN);
    },
  );

  it.each(['manager', 'artist', 'vendor'] as const)(
    '%s may not read one by its id (403: only the list is open to them); an admin may',
    async (who) => {
      const kept = await admin.createCustomAction({ name: uniqueName('Contract read'), url: url() });
      made.push(kept.id);
      const read = async (token: string) => zou.call(`/data/custom-actions/${kept.id}`, { token });
      expect((await read(await zou.sessionToken(who))).status).toBe(403);
      expect(await read(await zou.sessionToken('admin'))).toMatchObject({ status: 200, body: kept });
    },
  );
});
