import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeZou, type FakeZou } from '@kitsu-actions/testing';
import { Person, createZouClient } from '@kitsu-actions/zou';
import { ProjectDirectory, createJobReadAccess, readerOfPerson, type JobReader } from './authorization.ts';

// Who reads which job, and which listings: the rules over the productions' teams as the bot reads them,
// and the directory that keeps those reads briefly. Against the fake Zou: Spring Festival's team has
// the manager and the supervisor; Moon Garden's the manager and the outsider.

let zou: FakeZou;
beforeAll(async () => {
  zou = await startFakeZou();
});
afterAll(async () => {
  await zou.close();
});

// The directory reads as an admin here, who reads every production (the bot is on Spring Festival only).
const bot = () =>
  createZouClient({
    baseUrl: zou.url,
    auth: { token: zou.control.issueToken(zou.seed.ids.persons.admin, { ttlMs: null }) },
    retries: 0,
  });
const person = (key: 'admin' | 'manager' | 'supervisor' | 'outsider' | 'artist'): Person =>
  Person.parse(zou.state.persons.get(zou.seed.ids.persons[key]));
const projectReads = (id: string) => zou.control.requests({ path: `/data/projects/${id}` }).length;

describe('createJobReadAccess', () => {
  const access = () => createJobReadAccess(new ProjectDirectory(bot(), 60_000));
  const spf = () => zou.seed.ids.projects.spf;
  const moon = () => zou.seed.ids.projects.moon;
  const jobOf = (personId: string, projectIds: string[]) => ({ id: 'pages:1', personId, projectIds });

  it('a team reader reads a job only when on the team of every one of its productions', async () => {
    const rules = access();
    const someone = '00000000-0000-4000-8000-00000000abcd';
    const both = jobOf(someone, [spf(), moon()]);
    expect(await rules.canRead(readerOfPerson(person('manager')), both)).toBe(true);
    // On Spring Festival only: a job that also touches Moon Garden stays hidden.
    expect(await rules.canRead(readerOfPerson(person('supervisor')), both)).toBe(false);
    expect(await rules.canRead(readerOfPerson(person('supervisor')), jobOf(someone, [spf()]))).toBe(true);
    // A job of no production: nobody's team.
    expect(await rules.canRead(readerOfPerson(person('manager')), jobOf(someone, []))).toBe(false);
  });

  it("anyone else reads their own jobs only, whatever teams they are on; a job's capability that job only", async () => {
    const rules = access();
    const artist = person('artist');
    expect(readerOfPerson(artist)).toMatchObject({ kind: 'person', teams: false });
    expect(await rules.canRead(readerOfPerson(artist), jobOf(artist.id, [spf()]))).toBe(true);
    expect(await rules.canRead(readerOfPerson(artist), jobOf(person('manager').id, [spf()]))).toBe(false);
    const capability: JobReader = { kind: 'job', jobId: 'pages:1' };
    expect(await rules.canRead(capability, jobOf(artist.id, [spf()]))).toBe(true);
    expect(await rules.canRead(capability, { ...jobOf(artist.id, [spf()]), id: 'pages:2' })).toBe(false);
  });

  it('a Kitsu admin reads and lists every job', async () => {
    const admin = readerOfPerson(person('admin'));
    expect(admin).toEqual({ kind: 'everyone' });
    expect(await access().canRead(admin, jobOf(person('artist').id, [moon()]))).toBe(true);
    expect(await access().visibleTo(admin, () => Promise.resolve([spf()]))).toBeUndefined();
  });

  it("a production Kitsu no longer has is nobody's team: its jobs are their owner's only", async () => {
    const gone = '00000000-0000-4000-8000-00000000dead';
    const manager = readerOfPerson(person('manager'));
    expect(await access().canRead(manager, jobOf(person('artist').id, [gone]))).toBe(false);
    expect(await access().visibleTo(manager, () => Promise.resolve([gone, spf()]))).toEqual({
      personId: person('manager').id.toLowerCase(),
      scopes: [spf()],
    });
  });

  it('without a bot to read teams (no KITSU_BOT_TOKEN), a team reader reads and lists their own jobs only', async () => {
    const rules = createJobReadAccess(undefined);
    const manager = readerOfPerson(person('manager'));
    expect(await rules.canRead(manager, jobOf(person('artist').id, [spf()]))).toBe(false);
    expect(await rules.canRead(manager, jobOf(person('manager').id.toLowerCase(), [spf()]))).toBe(true);
    expect(await rules.onTeams(person('manager'), [spf()])).toBe(false);
    expect(await rules.visibleTo(manager, () => Promise.resolve([spf()]))).toEqual({
      personId: person('manager').id.toLowerCase(),
      scopes: [],
    });
  });

  it('listings: a team reader gets the scopes all of whose productions have them on the team', async () => {
    const rules = access();
    const scopes = () => Promise.resolve([spf(), moon(), `${moon()},${spf()}`]);
    expect(await rules.visibleTo(readerOfPerson(person('manager')), scopes)).toEqual({
      personId: person('manager').id.toLowerCase(),
      scopes: [spf(), moon(), `${moon()},${spf()}`],
    });
    expect(await rules.visibleTo(readerOfPerson(person('outsider')), scopes)).toEqual({
      personId: person('outsider').id.toLowerCase(),
      scopes: [],
    });
    expect(await rules.visibleTo(readerOfPerson(person('supervisor')), scopes)).toEqual({
      personId: person('supervisor').id.toLowerCase(),
      scopes: [spf()],
    });
    // An artist lists their own jobs; a capability lists nothing; an admin every job.
    expect(await rules.visibleTo(readerOfPerson(person('artist')), scopes)).toEqual({
      personId: person('artist').id.toLowerCase(),
      scopes: [],
    });
    expect(await rules.visibleTo({ kind: 'job', jobId: 'pages:1' }, scopes)).toEqual({ scopes: [] });
    expect(await rules.visibleTo({ kind: 'everyone' }, scopes)).toBeUndefined();
  });
});

describe('ProjectDirectory', () => {
  it('keeps a production for its time to live, then reads it again', async () => {
    let now = 1_000_000;
    const directory = new ProjectDirectory(bot(), 5_000, 1000, () => now);
    const id = zou.seed.ids.projects.spf;
    const before = projectReads(id);
    expect((await directory.get(id))?.id).toBe(id);
    now += 4_999;
    await directory.get(id);
    expect(projectReads(id) - before).toBe(1);
    now += 1;
    await directory.get(id);
    expect(projectReads(id) - before).toBe(2);
  });

  it('keeps at most maxEntries productions, dropping the oldest read', async () => {
    const directory = new ProjectDirectory(bot(), 60_000, 1);
    const { spf, moon } = zou.seed.ids.projects;
    const before = projectReads(spf);
    await directory.get(spf);
    await directory.get(spf);
    expect(projectReads(spf) - before).toBe(1);
    await directory.get(moon);
    await directory.get(spf);
    expect(projectReads(spf) - before).toBe(2);
  });

  it('a production Kitsu does not have is undefined, kept; a failed read is not kept', async () => {
    const directory = new ProjectDirectory(bot(), 60_000);
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect(await directory.get(unknown)).toBeUndefined();
    expect(await directory.get(unknown)).toBeUndefined();
    expect(projectReads(unknown)).toBe(1);
    // Several at once: each read, a few at a time.
    const three = [zou.seed.ids.projects.spf, zou.seed.ids.projects.moon, unknown];
    const many = await new ProjectDirectory(bot(), 60_000).getMany(three);
    expect(many.size).toBe(3);
    expect(three.map((id) => [many.has(id), many.get(id)?.id])).toEqual([
      [true, three[0]],
      [true, three[1]],
      [true, undefined],
    ]);
    // One the bot may not read is the same to it.
    const hidden = zou.seed.ids.projects.spf;
    zou.control.failNext(1, 403, { path: `/data/projects/${hidden}` });
    expect(await directory.get(hidden)).toBeUndefined();
    const id = zou.seed.ids.projects.moon;
    zou.control.failNext(1, 500, { path: `/data/projects/${id}` });
    await expect(directory.get(id)).rejects.toMatchObject({ status: 500 });
    expect((await directory.get(id))?.id).toBe(id);
  });
});
