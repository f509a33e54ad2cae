import { z } from 'zod';
import { ResultBase, type ResultDescription } from './define.ts';

/** A result that is a page of its own, served at /jobs/:id/result. */
export const PageResult = ResultBase.extend({
  type: z.literal('page'),
  title: z.string(),
  html: z.string(),
});
export type PageResult = z.infer<typeof PageResult>;

/** How every page result reads: its title and summary, a link to the page; the page itself is served whole. */
export const describePage: ResultDescription<PageResult> = {
  comment: (result) => `${result.title}: ${result.summary}`,
  status: ({ type, title, summary, links }) => ({ type, title, summary, links }),
  page: (result) => result.html,
};
