import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { createRedis, QueueName, queueOfJobId } from '@kitsu-actions/shared';
import {
  freePort,
  kitsuFixture,
  kitsuFixtures,
  replay,
  repoRoot,
  spawnService,
  startNginx,
  type KitsuFixture,
  type Nginx,
  type ServiceProcess,
} from '@kitsu-actions/testing';

/*
 * The deployment the README recommends ("Deploying on Kitsu's domain"), for real: Debian's nginx with the
 * README's own snippet serves the real Zou at /api (as Kitsu's nginx does) and the receiver at
 * /kitsu-actions/; the receiver and a worker run as child processes under AUTH_MODE=zou-session, and a
 * "browser" (a browser User-Agent, a cookie jar, Kitsu's Origin) logs in to Zou and runs the actions.
 */

/**
 * The catalogue the services read. `render-flamenco` is the AJAX action the recorded requests post to;
 * `debug` is also served as a GET, as the recorded GET-style request needs.
 */
const catalogueYaml = `
actions:
  - { id: debug, name: Debug selection, kind: debug, method: get }
  - { id: render-flamenco, name: Render on Flamenco, kind: debug, entityType: shot, ajax: true }
  - { id: reported, name: Debug with a Kitsu comment, kind: debug, report: { comment: true } }
`;

/** Zou sets its session cookie only for a browser (zou/app/utils/flask_utils.py, is_from_browser). */
const chromeUserAgent =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** The ```nginx block of the README's "Deploying on Kitsu's domain", as a studio pastes it. */
async function readmeNginxSnippet(): Promise<string> {
  const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
  const section = /^## Deploying on Kitsu's domain\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
  const block = /^```nginx\n([\s\S]*?)^```/m.exec(section)?.[1];
  if (block === undefined)
    throw new Error('README.md has no ```nginx block under "Deploying on Kitsu\'s domain"');
  return block;
}

/** The README's snippet pointed at this receiver, plus Zou at /api as Kitsu's own nginx serves it. */
function serverBlock(snippet: string, receiverPort: number, zouUrl: string): string {
  const upstream = 'http://kitsu-actions:8080/';
  const uses = snippet.split(upstream).length - 1;
  if (uses !== 1)
    throw new Error(`the README's nginx snippet names ${upstream} ${String(uses)} times, not once`);
  const zou = new URL(zouUrl);
  return `${snippet.replace(upstream, `http://127.0.0.1:${String(receiverPort)}/`)}
    # Kitsu's own nginx: Zou's routes under /api.
    location /api/ {
        proxy_pass http://${zou.host}/;
    }
`;
}

interface StoredCookie {
  value: string;
  path: string;
  /** Every attribute as sent, lower-cased names (`httponly`, `samesite`, `domain` …). */
  attributes: Record<string, string>;
}

/** A browser on Kitsu's host: a Chrome User-Agent, a cookie jar (host-only cookies, by path), no redirects followed. */
class Browser {
  readonly cookies = new Map<string, StoredCookie>();

  constructor(readonly origin: string) {}

  async request(
    target: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<Response> {
    const url = new URL(target, this.origin);
    if (url.origin !== this.origin)
      throw new Error(`this browser only visits ${this.origin}, not ${url.origin}`);
    const headers = new Headers(init.headers);
    headers.set('User-Agent', chromeUserAgent);
    // Chrome's own account of who sent the request: Kitsu's pages, unless the Origin says another site.
    const origin = headers.get('Origin');
    headers.set('Sec-Fetch-Site', origin === null || origin === this.origin ? 'same-origin' : 'cross-site');
    const cookie = this.cookieHeader(url.pathname);
    if (cookie !== '') headers.set('Cookie', cookie);
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      headers,
      redirect: 'manual',
      ...(init.body === undefined ? {} : { body: init.body }),
    });
    for (const line of response.headers.getSetCookie()) this.store(line);
    return response;
  }

  /** A JSON GET through nginx; fails on anything but 200. */
  async json(target: string): Promise<Record<string, unknown>> {
    const response = await this.request(target, { headers: { Accept: 'application/json' } });
    const text = await response.text();
    if (response.status !== 200)
      throw new Error(`GET ${target} answered ${String(response.status)}: ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  }

  /** What the browser sends on a request to `pathname`: the cookies whose path covers it. */
  cookieHeader(pathname: string): string {
    return [...this.cookies]
      .filter(
        ([, cookie]) => pathname === cookie.path || pathname.startsWith(cookie.path.replace(/\/?$/, '/')),
      )
      .map(([name, cookie]) => `${name}=${cookie.value}`)
      .join('; ');
  }

  private store(line: string): void {
    const [pair = '', ...rest] = line.split(';');
    const at = pair.indexOf('=');
    const attributes: Record<string, string> = {};
    for (const part of rest) {
      const [name = '', ...value] = part.trim().split('=');
      attributes[name.toLowerCase()] = value.join('=');
    }
    const name = pair.slice(0, at).trim();
    const expires = attributes['expires'];
    // Zou's logout unsets its cookies with an expiry in the past (and Max-Age=0).
    if (attributes['max-age'] === '0' || (expires !== undefined && Date.parse(expires) <= Date.now())) {
      this.cookies.delete(name);
      return;
    }
    this.cookies.set(name, { value: pair.slice(at + 1).trim(), path: attributes['path'] ?? '/', attributes });
  }
}

interface Sent {
  status: number;
  headers: Headers;
  location: string;
  contentType: string;
  text: string;
}

async function sent(response: Response): Promise<Sent> {
  return {
    status: response.status,
    headers: response.headers,
    location: response.headers.get('location') ?? '',
    contentType: response.headers.get('content-type') ?? '',
    text: await response.text(),
  };
}

function errorOf(answer: Sent): { code: string; message: string } {
  return (JSON.parse(answer.text) as { error: { code: string; message: string } }).error;
}

/** A Zou-shaped access token (flask-jwt-extended, HS256) with the given key and lifetime. */
function accessToken(key: string, personId: string, lifetimeS: number): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({
    fresh: false,
    iat: now - 7200,
    jti: randomUUID(),
    type: 'access',
    sub: personId,
    nbf: now - 7200,
    exp: now + lifetimeS,
    identity_type: 'person',
  })}`;
  return `${unsigned}.${createHmac('sha256', key).update(unsigned).digest('base64url')}`;
}

/** The ids, origin and host the recorded Kitsu requests carry (packages/testing/fixtures/kitsu). */
const recorded = {
  person: 'b01bae1e-f829-458a-a1eb-131bb66628cc',
  project: 'fa4d7f04-b8e0-4518-8dbc-2f24997ca76e',
  tasks: [
    '95c171e1-dfff-498f-93e3-548a739e3202',
    '0b7e3c1a-5f7d-4b43-9a51-2c9f0c8d1e11',
    'c3d2a9f4-71b8-4e0a-bf3e-5a6d7e8f9012',
  ],
  origin: 'https://kitsu.studio.example',
  host: 'kitsu.studio.example',
};

/** What each recorded request must get through nginx, as the manager's browser sends it. */
const replayed: Record<string, number> = {
  'ajax-empty-selection': 400,
  // Kitsu's origin is the receiver's own here (a browser sends no preflight): KITSU_ORIGINS is unset, so the
  // receiver gives no CORS header to anyone, and the OPTIONS is answered as any route's (200, Allow).
  'ajax-preflight': 200,
  'ajax-shots': 202,
  'doc-example-json': 202,
  'form-assets': 303,
  'get-query': 303,
};

interface CustomActionRow {
  id: string;
  name: string;
  url: string;
  entity_type: string;
  is_ajax: boolean;
  updated_at: string;
}

interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

/** `pnpm kitsu-actions register …` as a person types it, with the receiver's environment. */
async function registerCli(args: readonly string[], env: Record<string, string>): Promise<CliRun> {
  const child = spawn('pnpm', ['--silent', 'kitsu-actions', 'register', ...args], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, out, err };
}

describe("the README's deployment: nginx serving the real Zou at /api and the receiver at /kitsu-actions/", () => {
  const zou = inject('realZou');
  const { ids, logins } = zou.seed;
  const spf = ids.projects.spf;
  const prefix = `{kad-${randomUUID().slice(0, 8)}}`;
  let dir: string;
  let nginx: Nginx;
  let publicUrl: string;
  let kitsuUrl: string;
  let receiver: ServiceProcess;
  let worker: ServiceProcess;
  let connection: Redis;
  let eventsConnection: Redis;
  const queues = new Map<QueueName, Queue>();
  const events = new Map<QueueName, QueueEvents>();
  const browsers = new Map<string, Browser>();
  /** The studio admin's token (a script's login: in the body, no cookie), for set-up and clean-up. */
  let adminToken: string;

  /** A browser in which this person has logged in to Kitsu (through nginx, as Kitsu's login page does). */
  async function loggedIn(person: keyof typeof logins): Promise<Browser> {
    const known = browsers.get(person);
    if (known !== undefined) return known;
    const browser = new Browser(nginx.url);
    const login = await browser.request('/api/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: nginx.url },
      body: JSON.stringify(logins[person]),
    });
    if (login.status !== 200)
      throw new Error(`login of ${person} answered ${String(login.status)}: ${await login.text()}`);
    await login.body?.cancel();
    browsers.set(person, browser);
    return browser;
  }

  /** A Kitsu form post ("Use AJAX" off) from a production page: the browser sends its origin and cookie. */
  async function formPost(
    browser: Browser,
    action: string,
    fields: Record<string, string>,
    options: { origin?: string; accept?: string } = {},
  ): Promise<Sent> {
    return sent(
      await browser.request(`/kitsu-actions/actions/${action}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Accept: options.accept ?? 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
          Origin: options.origin ?? nginx.url,
          Referer:
            options.origin === undefined ? `${nginx.url}/productions/${spf}/shots` : `${options.origin}/`,
        },
        body: new URLSearchParams(fields).toString(),
      }),
    );
  }

  /** An AJAX action as Kitsu's page sends it: a JSON body, any answer accepted, the page's origin. */
  async function ajaxPost(browser: Browser, action: string, body: Record<string, unknown>): Promise<Sent> {
    return sent(
      await browser.request(`/kitsu-actions/actions/${action}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: '*/*', Origin: nginx.url },
        body: JSON.stringify(body),
      }),
    );
  }

  async function jobCount(): Promise<number> {
    let total = 0;
    for (const queue of queues.values()) {
      total += Object.values(await queue.getJobCounts()).reduce((sum, count) => sum + count, 0);
    }
    return total;
  }

  /** Waits for the job's final event in Redis (no timer), then reads its status through nginx. */
  async function finished(browser: Browser, jobId: string): Promise<Record<string, unknown>> {
    const name = queueOfJobId(jobId);
    const queue = name === undefined ? undefined : queues.get(name);
    const queueEvents = name === undefined ? undefined : events.get(name);
    if (queue === undefined || queueEvents === undefined) throw new Error(`not a job id: ${jobId}`);
    const job = await Job.fromId(queue, jobId);
    if (job === undefined) throw new Error(`job ${jobId} does not exist`);
    // A failure is an outcome too: the status read below says which.
    await job.waitUntilFinished(queueEvents, 30_000).catch(() => undefined);
    return browser.json(`/kitsu-actions/jobs/${jobId}`);
  }

  /** What the debug page must show for a task, read from Zou itself with the person's session. */
  async function asZouHasIt(browser: Browser, taskId: string): Promise<{ title: string; project: string }> {
    const task = await browser.json(`/api/data/tasks/${taskId}`);
    const type = await browser.json(`/api/data/task-types/${String(task['task_type_id'])}`);
    const project = await browser.json(`/api/data/projects/${String(task['project_id'])}`);
    const names: string[] = [];
    for (let id: unknown = task['entity_id']; typeof id === 'string';) {
      const entity = await browser.json(`/api/data/entities/${id}`);
      names.unshift(String(entity['name']));
      id = entity['parent_id'];
    }
    return {
      title: `Task: ${String(type['name'])} on ${names.join(' / ')}`,
      project: `Project: ${String(project['name'])}`,
    };
  }

  beforeAll(async () => {
    const receiverPort = await freePort();
    nginx = await startNginx({ server: serverBlock(await readmeNginxSnippet(), receiverPort, zou.url) });
    publicUrl = `${nginx.url}/kitsu-actions`;
    kitsuUrl = `${nginx.url}/api`;
    dir = await mkdtemp(path.join(tmpdir(), 'kitsu-actions-deployment-'));
    const actionsFile = path.join(dir, 'actions.yaml');
    await writeFile(actionsFile, catalogueYaml);
    // The settings the README gives for this deployment; KITSU_ORIGINS stays unset (same origin, no CORS).
    const env = {
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: prefix,
      PORT: String(receiverPort),
      HOST: '127.0.0.1',
      PUBLIC_URL: publicUrl,
      KITSU_URL: kitsuUrl,
      AUTH_MODE: 'zou-session',
      KITSU_BOT_TOKEN: zou.seed.botToken,
      ACTIONS_FILE: actionsFile,
      DEDUP_WINDOW_MS: '0',
      LOG_LEVEL: 'info',
    };
    receiver = spawnService('apps/receiver/src/main.ts', env);
    worker = spawnService('apps/worker/src/main.ts', env);
    await Promise.all([receiver.waitFor(/receiver listening/), worker.waitFor(/workers ready/)]);
    const login = await fetch(`${kitsuUrl}/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(zou.admin),
    });
    adminToken = ((await login.json()) as { access_token: string }).access_token;
    connection = createRedis(env.REDIS_URL, 'consumer');
    eventsConnection = createRedis(env.REDIS_URL, 'consumer');
    for (const name of QueueName.options) {
      queues.set(name, new Queue(name, { connection, prefix }));
      const queueEvents = new QueueEvents(name, { connection: eventsConnection.duplicate(), prefix });
      await queueEvents.waitUntilReady();
      events.set(name, queueEvents);
    }
  });

  afterAll(async () => {
    await Promise.all([...events.values()].map((queueEvents) => queueEvents.close()));
    await Promise.all([...queues.values()].map((queue) => queue.close()));
    connection.disconnect();
    eventsConnection.disconnect();
    await Promise.all([receiver.stop(), worker.stop()]);
    await nginx.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('nginx runs the README snippet as written: /kitsu-actions redirects, the prefix is stripped, Zou answers at /api', async () => {
    const bare = await sent(await fetch(`${nginx.url}/kitsu-actions`, { redirect: 'manual' }));
    expect(bare.status).toBe(301);
    expect(new URL(bare.location, nginx.url).href).toBe(`${publicUrl}/`);
    const health = await fetch(`${publicUrl}/healthz`);
    expect(health.status).toBe(200);
    const api: unknown = await (await fetch(`${kitsuUrl}/`)).json();
    expect(api).toEqual({ api: 'Zou', version: zou.version });
    // Every URL the receiver hands out is under PUBLIC_URL, whatever Host nginx passes on.
    const catalogue = (await (await fetch(`${publicUrl}/actions`)).json()) as { actions: { url: string }[] };
    expect(catalogue.actions.map((action) => action.url)).toEqual([
      `${publicUrl}/actions/debug`,
      `${publicUrl}/actions/render-flamenco`,
      `${publicUrl}/actions/reported`,
    ]);
  });

  it("logging in to Kitsu through nginx gives a browser Zou's session cookie for Kitsu's host, path /", async () => {
    const browser = await loggedIn('manager');
    const cookie = browser.cookies.get('access_token_cookie');
    expect(cookie).toBeDefined();
    expect(cookie?.path).toBe('/');
    expect(cookie?.attributes).toMatchObject({ httponly: '', samesite: 'Lax' });
    expect(cookie?.attributes).not.toHaveProperty('domain');
    expect(browser.cookieHeader('/kitsu-actions/actions/debug')).toContain('access_token_cookie=');
    const who = await browser.json('/api/auth/authenticated');
    expect(who).toMatchObject({ authenticated: true, user: { id: ids.persons.manager, role: 'manager' } });
    // Not a browser: the same login gives tokens in the body and no cookie, which is why the UA matters.
    const script = await fetch(`${kitsuUrl}/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(logins.manager),
    });
    expect(script.status).toBe(200);
    expect(script.headers.getSetCookie().filter((line) => line.startsWith('access_token_cookie='))).toEqual(
      [],
    );
  });

  describe("Kitsu's recorded requests, sent by the manager's browser with the real ids", () => {
    const results = new Map<string, { fixture: KitsuFixture; answer: Sent; tasks: string[] }>();

    /** The recorded request as this deployment's browser sends it: real ids, Kitsu's origin, its session. */
    function asSentHere(fixture: KitsuFixture, browser: Browser): { fixture: KitsuFixture; tasks: string[] } {
      const assets = /entitytype(=|":")asset/.test(fixture.body + fixture.path);
      const tasks = assets
        ? [ids.tasks.modelingMei, ids.tasks.riggingMei, ids.tasks.spf.at(-1) ?? '']
        : [ids.tasks.layoutSh010, ids.tasks.animationSh010, ids.tasks.lightingSh010];
      const host = new URL(nginx.url).host;
      const swap = (text: string): string => {
        let out = text
          .replaceAll(recorded.origin, nginx.url)
          .replaceAll(recorded.host, host)
          .replaceAll(recorded.person, ids.persons.manager)
          .replaceAll(recorded.project, spf);
        recorded.tasks.forEach((id, index) => (out = out.replaceAll(id, tasks[index] ?? '')));
        return out;
      };
      const headers = Object.fromEntries(
        Object.entries(fixture.headers)
          .filter(([name]) => name.toLowerCase() !== 'cookie')
          .map(([name, value]) => [name, swap(value)]),
      );
      headers['User-Agent'] = chromeUserAgent;
      headers['Sec-Fetch-Site'] = 'same-origin';
      // A browser running Kitsu sends the page it is on with every request (Chrome's default referrer policy);
      // the documentation's example and the GET sample were not captured from one and carry neither header.
      const named = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
      if (!named.has('origin') && !named.has('referer')) {
        headers['Referer'] = `${nginx.url}/productions/${spf}/${assets ? 'assets' : 'shots'}`;
      }
      const cookie = browser.cookieHeader('/kitsu-actions/');
      if (cookie !== '') headers['Cookie'] = cookie;
      const used = tasks.filter(
        (_, index) =>
          fixture.body.includes(recorded.tasks[index] ?? '') ||
          fixture.path.includes(recorded.tasks[index] ?? ''),
      );
      return {
        fixture: {
          ...fixture,
          path: `/kitsu-actions${swap(fixture.path)}`,
          headers,
          body: swap(fixture.body),
        },
        tasks: used,
      };
    }

    beforeAll(async () => {
      const browser = await loggedIn('manager');
      for (const original of kitsuFixtures()) {
        const { fixture, tasks } = asSentHere(original, browser);
        results.set(original.name, { fixture, tasks, answer: await sent(await replay(nginx.url, fixture)) });
      }
    });

    it('every recorded request is replayed, with none of the recorded ids left in it', () => {
      expect([...results.keys()].sort()).toEqual(Object.keys(replayed).sort());
      const leftovers = new RegExp(
        [recorded.person, recorded.project, ...recorded.tasks, recorded.host].join('|'),
      );
      for (const { fixture } of results.values()) expect(JSON.stringify(fixture)).not.toMatch(leftovers);
    });

    it('each gets the answer Kitsu expects: 202 for AJAX, 303 to the status page for a form or GET, 400 for an empty selection', () => {
      const statuses = Object.fromEntries([...results].map(([name, { answer }]) => [name, answer.status]));
      expect(statuses).toEqual(replayed);
      const empty = results.get('ajax-empty-selection')?.answer;
      expect(empty === undefined ? '' : errorOf(empty).message).toMatch(
        /Select at least one task before running "Render on Flamenco"/,
      );
      const preflight = results.get('ajax-preflight')?.answer;
      expect(preflight?.headers.get('access-control-allow-origin')).toBeNull();
      expect(preflight?.headers.get('allow')).toMatch(/POST/);
      const ajax = JSON.parse(results.get('ajax-shots')?.answer.text ?? '{}') as Record<string, unknown>;
      expect(ajax).toMatchObject({ state: 'queued', deduplicated: false });
      expect(String(ajax['statusUrl'])).toBe(`${publicUrl}/jobs/${String(ajax['jobId'])}`);
      for (const name of ['form-assets', 'get-query']) {
        expect(results.get(name)?.answer.location).toMatch(
          new RegExp(`^${publicUrl}/jobs/pages-[0-9a-f-]{36}$`),
        );
      }
    });

    it("the documentation's example as printed (a session cookie, neither Origin nor Referer) is refused with 403", async () => {
      const browser = await loggedIn('manager');
      const { fixture } = asSentHere(kitsuFixture('doc-example-json'), browser);
      const bare = Object.fromEntries(
        Object.entries(fixture.headers).filter(
          ([name]) => !['referer', 'sec-fetch-site'].includes(name.toLowerCase()),
        ),
      );
      const before = await jobCount();
      const answer = await sent(await replay(nginx.url, { ...fixture, headers: bare }));
      expect(answer.status).toBe(403);
      expect(errorOf(answer).code).toBe('origin_required');
      expect(await jobCount()).toBe(before);
    });

    it("each job completes as the session's person, and its debug page shows the tasks as Zou has them", async () => {
      const browser = await loggedIn('manager');
      const accepted = [...results.values()].filter(
        ({ answer }) => answer.status === 202 || answer.status === 303,
      );
      expect(accepted).toHaveLength(4);
      for (const { answer, tasks } of accepted) {
        const jobId =
          answer.status === 202
            ? String((JSON.parse(answer.text) as { jobId: string }).jobId)
            : (answer.location.split('/').pop() ?? '');
        const view = await finished(browser, jobId);
        expect(view).toMatchObject({
          state: 'completed',
          projectId: spf,
          taskIds: tasks,
          // The session's person, not the recorded `admin@example.com` of the payload.
          requestedBy: { personId: ids.persons.manager, email: logins.manager.email },
        });
        const page = await browser.request(`/kitsu-actions/jobs/${jobId}/result`, {
          headers: { Accept: 'text/html' },
        });
        expect(page.status).toBe(200);
        const html = await page.text();
        for (const task of tasks) {
          const expected = await asZouHasIt(browser, task);
          expect(html).toContain(`<h2>${expected.project}</h2>`);
          expect(html).toContain(`<h2>${expected.title}</h2>`);
          expect(html).toContain(`<h3>Task <code>${task}</code></h3>`);
        }
      }
    });
  });

  describe('who may run an action, decided by the real Zou', () => {
    /** The same form post, answered in JSON so the refusal's code can be read. */
    const json = { accept: 'application/json' };

    it('a forged personid (form) or userid (AJAX) naming someone else is 403, and nothing is queued', async () => {
      const artist = await loggedIn('artist');
      const before = await jobCount();
      const form = await formPost(artist, 'debug', {
        personid: ids.persons.supervisor,
        projectid: spf,
        selection: ids.tasks.layoutSh010,
        entitytype: 'shot',
      });
      expect(form.status).toBe(403);
      expect(form.contentType).toMatch(/html/);
      // The page the new tab shows names both: who the request claims, who the session is.
      expect(form.text).toContain(ids.persons.supervisor);
      expect(form.text).toContain('Kenji Sato');
      const ajax = await ajaxPost(artist, 'render-flamenco', {
        userid: ids.persons.supervisor,
        productionid: spf,
        selection: [ids.tasks.layoutSh010],
        entitytype: 'shot',
      });
      expect(ajax.status).toBe(403);
      expect(errorOf(ajax).code).toBe('identity_mismatch');
      expect(await jobCount()).toBe(before);
    });

    it("a manager on no team (the producer) is refused a production's tasks with 403, as Zou itself refuses them", async () => {
      const producer = await loggedIn('producer');
      const before = await jobCount();
      // Zou's own rule first: a manager must be on the team to see the production.
      expect((await producer.request(`/api/data/tasks/${ids.tasks.layoutSh010}`)).status).toBe(403);
      const answer = await formPost(
        producer,
        'debug',
        {
          personid: ids.persons.producer,
          projectid: spf,
          selection: ids.tasks.layoutSh010,
          entitytype: 'shot',
        },
        json,
      );
      expect(answer.status).toBe(403);
      expect(errorOf(answer).code).toBe('project_not_visible');
      expect(errorOf(answer).message).toContain('Ines Laurent (manager) is not on the team');
      expect(await jobCount()).toBe(before);
    });

    it('a vendor may run an action on their own task, not on another one Zou hides from them', async () => {
      const vendor = await loggedIn('vendor');
      const fields = { personid: ids.persons.vendor, projectid: spf, entitytype: 'shot' };
      expect((await vendor.request(`/api/data/tasks/${ids.tasks.compositingSh010}`)).status).toBe(403);
      const before = await jobCount();
      const refused = await formPost(
        vendor,
        'debug',
        { ...fields, selection: ids.tasks.compositingSh010 },
        json,
      );
      expect(refused.status).toBe(403);
      expect(errorOf(refused).code).toBe('task_not_visible');
      expect(errorOf(refused).message).toContain(ids.tasks.compositingSh010);
      expect(await jobCount()).toBe(before);
      expect((await vendor.request(`/api/data/tasks/${ids.tasks.vendorCompositing}`)).status).toBe(200);
      const own = await formPost(vendor, 'debug', { ...fields, selection: ids.tasks.vendorCompositing });
      expect(own.status).toBe(303);
      const view = await finished(vendor, own.location.split('/').pop() ?? '');
      expect(view).toMatchObject({ state: 'completed', requestedBy: { personId: ids.persons.vendor } });
    });

    it('a session Zou refuses (expired, not signed by Zou, logged out) is 401, whatever the cookie claims', async () => {
      const before = await jobCount();
      const fields = { projectid: spf, selection: ids.tasks.layoutSh010, entitytype: 'shot' };
      const withCookie = (value: string): Browser => {
        const browser = new Browser(nginx.url);
        browser.cookies.set('access_token_cookie', { value, path: '/', attributes: {} });
        return browser;
      };
      // Badly signed: Zou answers 422 and says why. Expired: refused (by Zou's 401, or before asking it).
      const refusals = [
        [accessToken('not-zou-s-key', ids.persons.admin, 3600), /Signature verification failed/],
        [accessToken(zou.secretKey, ids.persons.artist, -60), /expired/i],
      ] as const;
      for (const [token, reason] of refusals) {
        const answer = await formPost(withCookie(token), 'debug', fields, json);
        expect(answer.status).toBe(401);
        expect(errorOf(answer).code).toBe('session_refused');
        expect(errorOf(answer).message).toMatch(reason);
      }

      // Logged out in Kitsu: the browser drops the cookie, and the old value, replayed, is revoked in Zou.
      const supervisor = new Browser(nginx.url);
      const login = await supervisor.request('/api/auth/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(logins.supervisor),
      });
      expect(login.status).toBe(200);
      const session = supervisor.cookies.get('access_token_cookie')?.value ?? '';
      expect((await supervisor.request('/api/auth/logout')).status).toBe(200);
      expect(supervisor.cookies.has('access_token_cookie')).toBe(false);
      const loggedOut = await formPost(supervisor, 'debug', fields, json);
      expect(loggedOut.status).toBe(401);
      expect(errorOf(loggedOut).code).toBe('not_authenticated');
      const replayedSession = await formPost(withCookie(session), 'debug', fields, json);
      expect(replayedSession.status).toBe(401);
      expect(errorOf(replayedSession).code).toBe('session_refused');
      expect(errorOf(replayedSession).message).toContain('Token has been revoked');
      expect(await jobCount()).toBe(before);
    });

    it('no session cookie is 401, and a session sent from another site is 403', async () => {
      const before = await jobCount();
      const anonymous = new Browser(nginx.url);
      const fields = { projectid: spf, selection: ids.tasks.layoutSh010, entitytype: 'shot' };
      const noCookie = await formPost(anonymous, 'debug', fields);
      expect(noCookie.status).toBe(401);
      expect(noCookie.contentType).toMatch(/html/);
      const noCookieJson = await formPost(anonymous, 'debug', fields, json);
      expect(noCookieJson.status).toBe(401);
      expect(errorOf(noCookieJson).code).toBe('not_authenticated');
      const crossSite = await formPost(await loggedIn('artist'), 'debug', fields, {
        ...json,
        origin: 'https://evil.example',
      });
      expect(crossSite.status).toBe(403);
      expect(errorOf(crossSite).code).toBe('cross_site_request');
      expect(await jobCount()).toBe(before);
    });
  });

  describe('selections from other Kitsu pages, checked with the real Zou', () => {
    it("one from the My tasks page (no production, entity type episode) gets its production from Zou's task", async () => {
      const artist = await loggedIn('artist');
      const answer = await ajaxPost(artist, 'render-flamenco', {
        userid: ids.persons.artist,
        productionid: '',
        selection: [ids.tasks.layoutSh010],
        entitytype: 'episode',
        originurl: '/todos',
        originserver: new URL(nginx.url).host,
      });
      expect(answer.status).toBe(202);
      const view = await finished(artist, String((JSON.parse(answer.text) as { jobId: string }).jobId));
      expect(view).toMatchObject({ state: 'completed', projectId: spf, taskIds: [ids.tasks.layoutSh010] });
    });

    it("one of more than 50 tasks is checked against the production's task list, read page by page", async () => {
      const manager = await loggedIn('manager');
      const big = ids.projects.big ?? '';
      // Past 50 tasks the bot reads the production's list, which Zou pages by 100 (Big Show has 150 tasks).
      const selection = ids.tasks.big.slice(-60);
      const answer = await ajaxPost(manager, 'render-flamenco', {
        userid: ids.persons.manager,
        productionid: big,
        selection,
        entitytype: 'shot',
      });
      expect(answer.status).toBe(202);
      const view = await finished(manager, String((JSON.parse(answer.text) as { jobId: string }).jobId));
      expect(view).toMatchObject({ state: 'completed', projectId: big, taskIds: selection });
    });
  });

  it('an action with report.comment comments on the task in Zou, as the bot, linking to the job', async () => {
    const lighter = await loggedIn('lighter');
    const task = ids.tasks.compositingSh010;
    const seeded = await lighter.json(`/api/data/tasks/${task}`);
    const statusBefore = seeded['task_status_id'];
    onTestFinished(async () => {
      // A comment moves the task's last comment date: put the seed's back for the other suites of the run.
      await fetch(`${kitsuUrl}/data/tasks/${task}`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ last_comment_date: seeded['last_comment_date'] }),
      });
    });
    const answer = await formPost(lighter, 'reported', {
      personid: ids.persons.lighter,
      projectid: spf,
      selection: task,
      entitytype: 'shot',
    });
    expect(answer.status).toBe(303);
    const jobId = answer.location.split('/').pop() ?? '';
    const view = await finished(lighter, jobId);
    expect(view).toMatchObject({ state: 'completed', report: { state: 'posted', commented: 1 } });
    const comments = (await lighter
      .request(`/api/data/tasks/${task}/comments`, {
        headers: { Accept: 'application/json' },
      })
      .then((response) => response.json())) as { text: string; person_id: string; task_status_id: string }[];
    const ours = comments.filter((comment) => comment.text.includes(answer.location));
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatchObject({ person_id: ids.persons.bot, task_status_id: statusBefore });
    expect(ours[0]?.text).toMatch(/^kitsu-actions: "Debug with a Kitsu comment" completed/);
    // The link is the one users can open: through nginx, not the receiver's own port.
    expect(ours[0]?.text).toContain(`Status and result: ${publicUrl}/jobs/${jobId}`);
    expect((await lighter.json(`/api/data/tasks/${task}`))['task_status_id']).toBe(statusBefore);
  });

  describe('pnpm kitsu-actions register against the real Zou, as an admin', () => {
    const tag = randomUUID().slice(0, 8);
    let foreign: CustomActionRow;
    let registerEnv: Record<string, string>;
    /** Names unique to this run: the real Zou is shared by every suite, and register matches by name too. */
    const catalogue = (ids: string[]): string => {
      const entry = (id: string): string =>
        id === 'shots'
          ? `  - { id: shots, name: "Deployment ${tag} shots", kind: debug, entityType: shot, ajax: true }`
          : `  - { id: ${id}, name: "Deployment ${tag} ${id}", kind: debug }`;
      return `actions:\n${ids.map(entry).join('\n')}\n`;
    };
    let adminName: string;

    async function customActions(): Promise<CustomActionRow[]> {
      const response = await fetch(`${kitsuUrl}/data/custom-actions`, {
        headers: { Authorization: `Bearer ${adminToken}` },
      });
      expect(response.status).toBe(200);
      return (await response.json()) as CustomActionRow[];
    }
    const ours = async (): Promise<CustomActionRow[]> =>
      (await customActions())
        .filter((action) => action.url.startsWith(`${publicUrl}/`))
        .sort((a, b) => a.name.localeCompare(b.name));

    beforeAll(async () => {
      const who = await fetch(`${kitsuUrl}/auth/authenticated`, {
        headers: { Authorization: `Bearer ${adminToken}` },
      });
      adminName = ((await who.json()) as { user: { full_name: string } }).user.full_name;
      // Someone else's action, typed in Kitsu by hand: register must never touch it.
      const created = await fetch(`${kitsuUrl}/data/custom-actions`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          name: `Open in RV ${tag}`,
          url: 'https://rv.studio.example/open',
          entity_type: 'shot',
          is_ajax: false,
        }),
      });
      foreign = (await created.json()) as CustomActionRow;
      const full = path.join(dir, 'register-full.yaml');
      await writeFile(full, catalogue(['debug', 'shots', 'retired']));
      await writeFile(path.join(dir, 'register-less.yaml'), catalogue(['debug', 'shots']));
      registerEnv = {
        KITSU_URL: kitsuUrl,
        KITSU_BOT_TOKEN: adminToken,
        AUTH_MODE: 'zou-session',
        PUBLIC_URL: publicUrl,
        ACTIONS_FILE: full,
      };
    });

    afterAll(async () => {
      // Leave Zou's custom actions as they were for the other suites of the run.
      for (const action of [...(await ours()), foreign]) {
        await fetch(`${kitsuUrl}/data/custom-actions/${action.id}`, {
          method: 'DELETE',
          headers: { Authorization: `Bearer ${adminToken}` },
        });
      }
    });

    it("a manager bot's token is refused by Zou (403): nothing is created", async () => {
      const run = await registerCli([], { ...registerEnv, KITSU_BOT_TOKEN: zou.seed.botToken });
      expect(run.code).toBe(1);
      expect(run.err).toContain('Zou POST /data/custom-actions answered 403');
      expect(run.err).toContain('admin only');
      expect(await ours()).toEqual([]);
    });

    it('creates the catalogue as Kitsu custom actions, a second run changes nothing', async () => {
      const dry = await registerCli(['--dry-run'], registerEnv);
      expect({ code: dry.code, err: dry.err }).toEqual({ code: 0, err: '' });
      expect(dry.out).toContain('3 to create, 0 to update, 0 to delete, 0 unchanged');
      expect(await ours()).toEqual([]);

      const first = await registerCli([], registerEnv);
      expect({ code: first.code, err: first.err }).toEqual({ code: 0, err: '' });
      expect(first.out.split('\n')[0]).toBe(
        `Kitsu ${kitsuUrl}, as ${adminName} (admin); actions under ${publicUrl}/actions/`,
      );
      expect(first.out).toContain('Done: 3 created, 0 updated, 0 deleted.');
      const created = await ours();
      expect(
        created.map(({ name, url, entity_type, is_ajax }) => ({ name, url, entity_type, is_ajax })),
      ).toEqual([
        {
          name: `Deployment ${tag} debug`,
          url: `${publicUrl}/actions/debug`,
          entity_type: 'all',
          is_ajax: false,
        },
        {
          name: `Deployment ${tag} retired`,
          url: `${publicUrl}/actions/retired`,
          entity_type: 'all',
          is_ajax: false,
        },
        {
          name: `Deployment ${tag} shots`,
          url: `${publicUrl}/actions/shots`,
          entity_type: 'shot',
          is_ajax: true,
        },
      ]);

      const second = await registerCli([], registerEnv);
      expect({ code: second.code, err: second.err }).toEqual({ code: 0, err: '' });
      expect(second.out).toContain('0 to create, 0 to update, 0 to delete, 3 unchanged');
      expect(second.out).toContain('Kitsu already matches the catalogue: nothing to do.');
      expect(await ours()).toEqual(created);
    });

    it('--prune deletes only our action that left the catalogue; the other Kitsu action survives', async () => {
      const env = { ...registerEnv, ACTIONS_FILE: path.join(dir, 'register-less.yaml') };
      const kept = await registerCli([], env);
      expect(kept.code).toBe(0);
      expect(kept.out).toContain(`! "Deployment ${tag} retired"`);
      expect((await ours()).map((action) => action.name)).toContain(`Deployment ${tag} retired`);

      const pruned = await registerCli(['--prune'], env);
      expect({ code: pruned.code, err: pruned.err }).toEqual({ code: 0, err: '' });
      expect(pruned.out).toContain(`- "Deployment ${tag} retired"`);
      expect(pruned.out).toContain('Done: 0 created, 0 updated, 1 deleted.');
      expect((await ours()).map((action) => action.name)).toEqual([
        `Deployment ${tag} debug`,
        `Deployment ${tag} shots`,
      ]);
      expect((await customActions()).find((action) => action.id === foreign.id)).toEqual(foreign);
    });
  });

  it('nginx stops: its master and worker are gone and the port is closed', async () => {
    expect((await nginx.pids()).length).toBeGreaterThanOrEqual(2);
    await nginx.stop();
    expect(await nginx.pids()).toEqual([]);
    expect(existsSync(nginx.dir)).toBe(false);
    await expect(fetch(`${nginx.url}/`)).rejects.toThrow(/fetch failed/);
  });
});
