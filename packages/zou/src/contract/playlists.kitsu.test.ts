import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName, zouTargets } from '@kitsu-actions/testing';
import type { ZouTarget } from '@kitsu-actions/testing';
import { sessionClients } from './sessions.ts';
import { ZouError, ZouPlaylistExistsError } from '../errors.ts';

// Contract: playlists (create, duplicate names with and without an episode, entries with previews, who may
// write them, lists by project) and the task previews they are filled with. Names are unique: the real
// Zou is shared by the whole run. What this file makes is deleted at the end.

const FORBIDDEN = { name: 'ZouError', status: 403 };
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

describe.each(zouTargets)('$name: playlists', ({ start }) => {
  let zou: ZouTarget;
  const made: string[] = [];

  /** A client logged in as that person (through a session token from their login). */
  const as = sessionClients(() => zou);
  const keep = <T extends { id: string }>(playlist: T): T => {
    made.push(playlist.id);
    return playlist;
  };
  /** Two shots whose tasks have previews, each with the id of its newest preview. */
  type ShotPreview = { shot: string; preview: string };
  const shotsWithPreviews = async (): Promise<[ShotPreview, ShotPreview]> => {
    const bot = await as('bot');
    const rows = zou.production.rows.tasks.filter(
      (t) => t.project_id === zou.production.ids.projects.spf && t.last_preview_file_id !== null,
    );
    const out: { shot: string; preview: string }[] = [];
    for (const row of rows) {
      const shot = zou.idOf(row.entity_id);
      if (!zou.ids.shots.includes(shot) || out.some((o) => o.shot === shot)) continue;
      const [newest] = await bot.getTaskPreviews(zou.idOf(row.id));
      if (newest !== undefined) out.push({ shot, preview: newest.id });
      const [first, second] = out;
      if (first !== undefined && second !== undefined) return [first, second];
    }
    throw new Error('the seed has fewer than two shots with previews');
  };

  beforeAll(async () => {
    zou = await start();
  });
  afterAll(async () => {
    const token = await zou.sessionToken('admin');
    for (const id of made) {
      const answer = await zou.call(`/data/playlists/${id}`, { method: 'DELETE', token });
      if (answer.status !== 204 && answer.status !== 404) {
        throw new Error(`cleanup of playlist ${id} answered ${String(answer.status)}`);
      }
    }
    await zou.close();
  });

  it('a manager creates one: no episode, no entries yet (null), created by them', async () => {
    const manager = await as('manager');
    const name = uniqueName('Contract dailies');
    const playlist = keep(await manager.createPlaylist({ name, project_id: zou.ids.projects.spf }));
    expect(playlist).toMatchObject({
      name,
      project_id: zou.ids.projects.spf,
      episode_id: null,
      task_type_id: null,
      for_client: false,
      for_entity: 'shot',
      is_for_all: false,
      shots: null,
      created_by: zou.ids.persons.manager,
      type: 'Playlist',
    });
    const listed = await manager.listPlaylists(zou.ids.projects.spf, { name: name.toUpperCase() });
    expect(listed.map((p) => p.id)).toEqual([playlist.id]);
  });

  it('lets a name repeat without an episode (the client refuses it unless told), never within one', async () => {
    const manager = await as('manager');
    const name = uniqueName('Contract twice');
    const first = keep(await manager.createPlaylist({ name, project_id: zou.ids.projects.spf }));
    const error = await manager
      .createPlaylist({ name, project_id: zou.ids.projects.spf })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZouPlaylistExistsError);
    expect((error as ZouPlaylistExistsError).existing.id).toBe(first.id);
    const second = keep(
      await manager.createPlaylist({ name, project_id: zou.ids.projects.spf }, { allowDuplicateName: true }),
    );
    expect(second).toMatchObject({ name, episode_id: null });
    expect(second.id).not.toBe(first.id);

    const episode = zou.ids.episodes[0] ?? '';
    const inEpisode = keep(
      await manager.createPlaylist({ name, project_id: zou.ids.projects.spf, episode_id: episode }),
    );
    expect(inEpisode.episode_id).toBe(episode);
    const again = await manager
      .createPlaylist({ name, project_id: zou.ids.projects.spf, episode_id: episode })
      .catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ZouError);
    expect(again).toMatchObject({
      status: 400,
      zouMessage: 'A record with the same unique values already exists.',
    });
    const raw = await zou.call('/data/playlists', {
      method: 'POST',
      token: await zou.sessionToken('manager'),
      body: { name, project_id: zou.ids.projects.spf, episode_id: episode },
    });
    expect(raw).toEqual(
      expect.objectContaining({
        status: 400,
        body: { message: 'A record with the same unique values already exists.' },
      }),
    );
    // The same name in the other episode is another playlist.
    keep(
      await manager.createPlaylist({
        name,
        project_id: zou.ids.projects.spf,
        episode_id: zou.ids.episodes[1] ?? '',
      }),
    );
    expect((await manager.listPlaylists(zou.ids.projects.spf, { name })).length).toBe(4);
  });

  it('reads episode "main" as no episode, and refuses an unknown for_entity with 400', async () => {
    const token = await zou.sessionToken('manager');
    const main = await zou.call('/data/playlists', {
      method: 'POST',
      token,
      body: { name: uniqueName('Contract main'), project_id: zou.ids.projects.spf, episode_id: 'main' },
    });
    expect(main).toMatchObject({ status: 201, body: { episode_id: null } });
    keep(main.body as { id: string });
    const wrong = await zou.call('/data/playlists', {
      method: 'POST',
      token,
      body: { name: uniqueName('Contract wrong'), project_id: zou.ids.projects.spf, for_entity: 'movie' },
    });
    expect(wrong).toMatchObject({
      status: 400,
      body: {
        error: true,
        message: 'for_entity must be one of shot, asset, sequence, edit, episode',
        data: null,
      },
    });
  });

  it('sets its shots with previews: a preview of another entity, or an unknown one, is unset', async () => {
    const manager = await as('manager');
    const [a, b] = await shotsWithPreviews();
    const playlist = keep(
      await manager.createPlaylist({ name: uniqueName('Contract review'), project_id: zou.ids.projects.spf }),
    );
    const updated = await manager.updatePlaylist(playlist.id, {
      shots: [
        { entity_id: a.shot, preview_file_id: a.preview },
        { entity_id: b.shot, preview_file_id: a.preview },
        { entity_id: zou.ids.shots[3] ?? '', preview_file_id: UNKNOWN },
        { entity_id: zou.ids.shots[4] ?? '', preview_file_id: null },
      ],
    });
    expect(updated.shots).toEqual([
      { entity_id: a.shot, preview_file_id: a.preview },
      { entity_id: b.shot, preview_file_id: null },
      { entity_id: zou.ids.shots[3], preview_file_id: null },
      { entity_id: zou.ids.shots[4], preview_file_id: null },
    ]);
    const [listed] = (await manager.listPlaylists(zou.ids.projects.spf)).filter((p) => p.id === playlist.id);
    expect(listed?.shots).toEqual(updated.shots);
    // Entries are kept as { entity_id, preview_file_id }: other keys go, entries without an entity too.
    const raw = await zou.call(`/data/playlists/${playlist.id}`, {
      method: 'PUT',
      token: await zou.sessionToken('manager'),
      body: {
        shots: [
          { entity_id: b.shot, preview_file_id: b.preview, note: 'x' },
          { preview_file_id: b.preview },
          'x',
        ],
      },
    });
    expect(raw).toMatchObject({
      status: 200,
      body: { shots: [{ entity_id: b.shot, preview_file_id: b.preview }] },
    });
  });

  it('is written by a manager of the project, the bot, or the supervisor who made it; not by an artist', async () => {
    const supervisor = await as('supervisor');
    const own = keep(
      await supervisor.createPlaylist({
        name: uniqueName('Contract supervisor'),
        project_id: zou.ids.projects.spf,
      }),
    );
    expect(own.created_by).toBe(zou.ids.persons.supervisor);
    expect(await supervisor.updatePlaylist(own.id, { name: uniqueName('Contract renamed') })).toMatchObject({
      id: own.id,
    });
    const managers = keep(
      await (
        await as('manager')
      ).createPlaylist({ name: uniqueName('Contract manager'), project_id: zou.ids.projects.spf }),
    );
    await expect(
      supervisor.updatePlaylist(managers.id, { name: uniqueName('Contract taken') }),
    ).rejects.toMatchObject(FORBIDDEN);
    const bot = await as('bot');
    expect(await bot.updatePlaylist(managers.id, { for_client: true })).toMatchObject({ for_client: true });
    keep(await bot.createPlaylist({ name: uniqueName('Contract bot'), project_id: zou.ids.projects.spf }));
    const artist = await as('artist');
    await expect(
      artist.createPlaylist({ name: uniqueName('Contract artist'), project_id: zou.ids.projects.spf }),
    ).rejects.toMatchObject(FORBIDDEN);
    await expect(artist.updatePlaylist(managers.id, { name: 'x' })).rejects.toMatchObject(FORBIDDEN);
    for (const who of ['producer', 'outsider', 'client'] as const) {
      await expect(
        (await as(who)).createPlaylist(
          { name: uniqueName('Contract refused'), project_id: zou.ids.projects.spf },
          { allowDuplicateName: true },
        ),
      ).rejects.toMatchObject(FORBIDDEN);
    }
    await expect((await as('manager')).updatePlaylist(UNKNOWN, { name: 'x' })).rejects.toMatchObject({
      status: 404,
    });
  });

  it('lists by project: a client only those for clients, nobody off the team, never a vendor', async () => {
    const manager = await as('manager');
    const shared = keep(
      await manager.createPlaylist({
        name: uniqueName('Contract shared'),
        project_id: zou.ids.projects.spf,
        for_client: true,
      }),
    );
    const internal = keep(
      await manager.createPlaylist({
        name: uniqueName('Contract internal'),
        project_id: zou.ids.projects.spf,
      }),
    );
    const artistSees = (await (await as('artist')).listPlaylists(zou.ids.projects.spf)).map((p) => p.id);
    expect(artistSees).toEqual(expect.arrayContaining([shared.id, internal.id]));
    const clientSees = await (await as('client')).listPlaylists(zou.ids.projects.spf);
    expect(clientSees.map((p) => p.id)).toContain(shared.id);
    expect(clientSees.filter((p) => p.for_client !== true)).toEqual([]);
    expect(await (await as('outsider')).listPlaylists(zou.ids.projects.spf)).toEqual([]);
    expect(await (await as('producer')).listPlaylists(zou.ids.projects.spf)).toEqual([]);
    await expect((await as('vendor')).listPlaylists(zou.ids.projects.spf)).rejects.toMatchObject(FORBIDDEN);
    const everyProject = await (await as('admin')).listPlaylists(zou.ids.projects.moon);
    expect(everyProject.filter((p) => p.project_id !== zou.ids.projects.moon)).toEqual([]);
  });
});
