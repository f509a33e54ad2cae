import { z } from 'zod';
import { Template } from '../render.ts';
import { ResultBase, defineKind } from './define.ts';

const EnvName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'the name of an environment variable (A-Z, 0-9, _)');

export const ScriptOptions = z.strictObject({
  /** The executable, by its absolute path: it is run directly, never through a shell. */
  command: z.string().regex(/^\//, 'an absolute path, such as /studio/actions/publish.py'),
  /** Its arguments, one string each (`{fields}` of the first selected task may be used). */
  args: z.array(Template).default([]),
  /** The worker's environment variables it gets, by name; nothing else of the worker's environment. */
  env: z.array(EnvName).default([]),
  /** Also give it Kitsu: KITSU_URL and the bot's token as KITSU_BOT_TOKEN. */
  botToken: z.boolean().default(false),
  /** What its standard output is: plain text, HTML, or JSON with `summary` (and `links`). */
  output: z.enum(['text', 'html', 'json']).default('text'),
  /** HTML output shown as it is (the studio vouches for the script); otherwise it is shown escaped. */
  trusted: z.boolean().default(false),
  /** It is ended (SIGTERM, then SIGKILL) past this many seconds. */
  timeoutS: z.number().int().min(1).max(86_400).default(300),
});
export type ScriptOptions = z.infer<typeof ScriptOptions>;

export const ScriptResult = ResultBase.extend({
  type: z.literal('script'),
  title: z.string(),
  /** The result page: the script's output, escaped or trusted as the action says. */
  html: z.string(),
});
export type ScriptResult = z.infer<typeof ScriptResult>;

/** A studio's own action: an executable run with the request and Kitsu's data on its standard input. */
export const script = defineKind({
  kind: 'script',
  queue: 'pages',
  options: ScriptOptions,
  result: ScriptResult,
  keepRawRequest: false,
  // A script may act on the world (publish, post): a failure is not run again by itself.
  jobOptions: { attempts: 1, backoff: { type: 'fixed', delay: 1000 } },
  describe: {
    comment: (result) => result.summary,
    status: ({ type, title, summary, links }) => ({ type, title, summary, links }),
    page: (result) => result.html,
  },
});
