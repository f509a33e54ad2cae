import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { resultSummaryOf, statusViewOf, type JobRecord } from '../status.ts';
import { defineKind } from './define.ts';
import { JobKind, jobKinds, kindManifests } from './index.ts';
import type { PageResult } from './results.ts';

const pageResult: PageResult = {
  type: 'page',
  title: 'Debug: Show request',
  summary: '3 tasks (shot) from marc@studio',
  links: [],
  html: '<!doctype html><p>big page</p>',
};

describe('the kind registry', () => {
  it('names each kind once, and JobKind is exactly the manifests', () => {
    const kinds = kindManifests.map((manifest) => manifest.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    expect(JobKind.options).toEqual(kinds);
    for (const kind of kinds) expect(jobKinds[kind].kind).toBe(kind);
  });

  it('a result without a summary or links does not compile', () => {
    const manifest = defineKind({
      kind: 'broken',
      queue: 'pages',
      options: z.strictObject({}),
      // @ts-expect-error: every result extends ResultBase ({ type, summary, links })
      result: z.object({ type: z.literal('broken') }),
      keepRawRequest: false,
      jobOptions: { attempts: 1, backoff: { type: 'fixed', delay: 0 } },
      describe: { comment: () => '', status: () => ({ type: 'broken', summary: '', links: [] }) },
    });
    expect(manifest.kind).toBe('broken');
  });

  it('keeps a page result without its page for the status view, and serves the page whole', () => {
    expect(resultSummaryOf('debug', pageResult)).toEqual({
      type: 'page',
      title: pageResult.title,
      summary: pageResult.summary,
      links: [],
    });
    expect(jobKinds.debug.describe.page?.(pageResult)).toBe(pageResult.html);
    expect(jobKinds.debug.describe.comment(pageResult)).toBe(`${pageResult.title}: ${pageResult.summary}`);
    const pageKinds = kindManifests.filter((manifest) => manifest.describe.page !== undefined);
    expect(pageKinds.map((manifest) => manifest.kind)).toEqual(['debug', 'stats', 'script']);
  });

  it('keeps nothing of a result that is not its kind’s', () => {
    expect(resultSummaryOf('render.cgru', pageResult)).toBeUndefined();
  });

  it('reads a page result recorded before results had links', () => {
    const record: JobRecord = {
      id: 'pages-1',
      summary: {
        actionId: 'debug',
        actionName: 'Show request',
        kind: 'debug',
        personId: 'p1',
        projectIds: [],
        taskCount: 1,
        maxAttempts: 3,
      },
      bullState: 'completed',
      timestamp: 1,
      finishedOn: 2,
      attemptsMade: 1,
      result: { type: 'page', title: 'Debug: old', summary: 'old summary' },
    };
    const view = statusViewOf(record);
    expect(view.result).toEqual({
      type: 'page',
      title: 'Debug: old',
      summary: 'old summary',
      links: [],
      href: '/jobs/pages-1/result',
    });
    expect(view.progress.message).toBe('old summary');
    expect(view.links).toContainEqual({ label: 'Debug: old', href: '/jobs/pages-1/result' });
  });
});
