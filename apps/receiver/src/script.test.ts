import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { repoRoot, type FakeZou } from '@kitsu-actions/testing';
import { kitsuOrigin, startZouReceiver, submitAction, type ReceiverHarness } from '../test/harness.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'kitsu-actions-script-'));
const script = (name: string, source: string): string => {
  const file = path.join(dir, name);
  writeFileSync(file, source);
  return file;
};

/** Waits for `file` to exist (a script says it has got this far by writing it). */
async function fileAppears(file: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} never appeared`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const steps = script(
  'steps.py',
  `import json, os, sys, time
selection = json.load(sys.stdin)
print("progress: 40 halfway through " + selection["tasks"][0]["label"], file=sys.stderr, flush=True)
while not os.path.exists(${JSON.stringify(path.join(dir, 'go'))}):
    time.sleep(0.02)
print("<b>" + selection["action"]["id"] + "</b> for " + str(len(selection["tasks"])) + " tasks")
print("all done")
`,
);
const envJson = script(
  'env.py',
  `import json, os, sys
json.load(sys.stdin)
print(json.dumps({"summary": "two links", "links": [
  {"label": "Report", "href": "https://pipeline.studio.example/report/1"},
  {"label": "Script", "href": "javascript:alert(1)"}]}))
`,
);
const trustedHtml = script(
  'html.py',
  `import sys\nsys.stdin.read()\nprint("<p id='made'>made by a script</p>")\n`,
);
const failing = script(
  'fail.py',
  `import sys
sys.stdin.read()
print("opening the scene", file=sys.stderr)
print("Error: no such scene /prod/SH010.blend", file=sys.stderr)
sys.exit(3)
`,
);
const sleeper = script(
  'sleep.py',
  `import os, sys, time
sys.stdin.read()
open(os.path.join(${JSON.stringify(dir)}, sys.argv[1] + ".pid"), "w").write(str(os.getpid()))
time.sleep(60)
`,
);

const catalogueYaml = `
actions:
  - { id: steps, name: Steps, kind: script, options: { command: /usr/bin/python3, args: [${steps}] } }
  - { id: links, name: Links, kind: script, options: { command: /usr/bin/python3, args: [${envJson}], output: json } }
  - { id: env, name: Env, kind: script, options: { command: /usr/bin/env, env: [LISTED_VAR] } }
  - { id: html-escaped, name: HTML escaped, kind: script, options: { command: /usr/bin/python3, args: [${trustedHtml}], output: html } }
  - { id: html-trusted, name: HTML trusted, kind: script, options: { command: /usr/bin/python3, args: [${trustedHtml}], output: html, trusted: true } }
  - { id: fails, name: Fails, kind: script, options: { command: /usr/bin/python3, args: [${failing}] } }
  - { id: slow, name: Slow, kind: script, options: { command: /usr/bin/python3, args: [${sleeper}, slow], timeoutS: 1 } }
  - { id: cancelled, name: Cancelled, kind: script, options: { command: /usr/bin/python3, args: [${sleeper}, cancelled] } }
  - { id: note-tasks, name: Leave a note, kind: script, options: { command: /usr/bin/python3, args: [${path.join(repoRoot, 'examples/kitsu_comment.py')}], botToken: true, output: json } }
`;

describe('script: Kitsu → receiver → worker process → a studio script', () => {
  let zou: FakeZou;
  let harness: ReceiverHarness;
  let session: Record<string, string>;

  beforeAll(async () => {
    ({ zou, harness } = await startZouReceiver({
      redisUrl: inject('redisUrl'),
      catalogueYaml,
      env: { LISTED_VAR: 'given', UNLISTED_VAR: 'kept from the script' },
    }));
    session = { Cookie: `access_token_cookie=${zou.control.issueToken(zou.seed.ids.persons.manager)}` };
    await harness.startWorker().waitFor(/workers ready/);
  });
  afterAll(() => harness.close());

  function start(action: string): Promise<string> {
    const { ids } = zou.seed;
    return submitAction(harness, action, {
      headers: session,
      fields: {
        personid: ids.persons.manager,
        projectid: ids.projects.spf,
        selection: `${ids.tasks.lightingSh010},${ids.tasks.layoutSh010}`,
        entitytype: 'shot',
      },
    });
  }

  const status = async (jobId: string): Promise<Record<string, unknown>> =>
    (
      await fetch(`${harness.baseUrl}/jobs/${jobId}`, { headers: { ...session, Accept: 'application/json' } })
    ).json() as Promise<Record<string, unknown>>;
  const resultPage = async (jobId: string): Promise<string> =>
    (await fetch(`${harness.baseUrl}/jobs/${jobId}/result`, { headers: session })).text();

  it('moves the status page with its progress lines, and its output, escaped, is the result', async () => {
    const jobId = await start('steps');
    await expect
      .poll(async () => (await status(jobId))['progress'], { timeout: 15_000 })
      .toEqual({ percent: 40, message: 'halfway through E01 / SQ010 / SH010' });
    writeFileSync(path.join(dir, 'go'), '');
    const view = await harness.waitForJob(jobId, { headers: session });
    expect(view['state']).toBe('completed');
    expect(view['result']).toMatchObject({ type: 'script', summary: 'all done' });
    const page = await resultPage(jobId);
    expect(page).toContain('<pre>&lt;b&gt;steps&lt;/b&gt; for 2 tasks\nall done\n</pre>');
  });

  it('gets only the environment it lists', async () => {
    const view = await harness.waitForJob(await start('env'), { headers: session });
    expect(view['state']).toBe('completed');
    // /usr/bin/env prints the whole environment it was given.
    expect(await resultPage(String(view['id']))).toContain('<pre>LISTED_VAR=given\n</pre>');
  });

  it('shows the links of its JSON output that are http(s), and only those', async () => {
    const view = await harness.waitForJob(await start('links'), { headers: session });
    expect(view['state']).toBe('completed');
    expect(view['result']).toMatchObject({
      summary: 'two links',
      links: [{ label: 'Report', href: 'https://pipeline.studio.example/report/1' }],
    });
  });

  it('shows HTML output escaped unless the action trusts it', async () => {
    const escaped = await harness.waitForJob(await start('html-escaped'), { headers: session });
    expect(await resultPage(String(escaped['id']))).toContain(
      '<pre>&lt;p id=&#39;made&#39;&gt;made by a script&lt;/p&gt;',
    );
    const trusted = await harness.waitForJob(await start('html-trusted'), { headers: session });
    expect(await resultPage(String(trusted['id']))).toContain("<p id='made'>made by a script</p>");
  });

  it('a non-zero exit fails the job with its code and the last lines of its error output, once', async () => {
    const view = await harness.waitForJob(await start('fails'), { headers: session });
    expect(view['state']).toBe('failed');
    expect(view['attempts']).toBe(1);
    expect((view['error'] as { message: string }).message).toBe(
      '/usr/bin/python3 exited with code 3: opening the scene\nError: no such scene /prod/SH010.blend',
    );
  });

  it('is stopped past its timeout, and the job says so', async () => {
    const view = await harness.waitForJob(await start('slow'), { headers: session, timeoutMs: 30_000 });
    expect(view['state']).toBe('failed');
    expect((view['error'] as { message: string }).message).toBe(
      '/usr/bin/python3 did not finish within 1 s and was stopped',
    );
    const pid = Number(readFileSync(path.join(dir, 'slow.pid'), 'utf8'));
    expect(isRunning(pid)).toBe(false);
  });

  it('a cancel ends it: the job is cancelled and the process is gone', async () => {
    const jobId = await start('cancelled');
    await fileAppears(path.join(dir, 'cancelled.pid'));
    const pid = Number(readFileSync(path.join(dir, 'cancelled.pid'), 'utf8'));
    expect(isRunning(pid)).toBe(true);
    const cancel = await fetch(`${harness.baseUrl}/jobs/${jobId}/cancel`, {
      method: 'POST',
      headers: { ...session, Origin: kitsuOrigin, Accept: 'application/json' },
    });
    expect(cancel.status).toBe(202);
    const view = await harness.waitForJob(jobId, { headers: session });
    expect(view['state']).toBe('cancelled');
    await expect.poll(() => isRunning(pid), { timeout: 10_000 }).toBe(false);
  });

  it('the README’s Python example comments each selected task in Kitsu with the bot’s token', async () => {
    const before = zou.state.comments.length;
    const view = await harness.waitForJob(await start('note-tasks'), { headers: session });
    expect(view['state']).toBe('completed');
    expect(view['result']).toMatchObject({ summary: '2 tasks commented in Kitsu' });
    const made = zou.state.comments.slice(before);
    expect(made.map((comment) => [comment.object_id, comment.text, comment.person_id])).toEqual([
      [zou.seed.ids.tasks.lightingSh010, 'Checked by Leave a note', zou.seed.ids.persons.bot],
      [zou.seed.ids.tasks.layoutSh010, 'Checked by Leave a note', zou.seed.ids.persons.bot],
    ]);
  });
});
