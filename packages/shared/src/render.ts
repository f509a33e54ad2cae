import { z } from 'zod';
import { FarmCancelMode, FarmJobState, FarmKind, SubmitterPlatform } from './farm-vocabulary.ts';
import { ResultBase, type KindManifest, type ResultDescription } from './kinds/define.ts';

/**
 * Options of the render kinds (`render.flamenco`, `render.cgru`) and the templates they use. Templates
 * are checked when the catalogue loads: a field this list does not name is an error there, not at render
 * time. `{{` and `}}` stand for literal braces.
 */
export const templateFields = [
  'project.id',
  'project.name',
  'project.code',
  'episode.id',
  'episode.name',
  'sequence.id',
  'sequence.name',
  'shot.id',
  'shot.name',
  'entity.id',
  'entity.name',
  'entity.type',
  'task.id',
  'task.name',
  'taskType.name',
  'taskType.shortName',
  'frames',
  'frameIn',
  'frameOut',
  'nbFrames',
  'fps',
  'jobId',
  'person.id',
  'person.email',
  'action.id',
] as const;
export type TemplateField = (typeof templateFields)[number];

const knownFields: ReadonlySet<string> = new Set(templateFields);

/** Fields whose value is a number: a setting that is exactly one of them stays a number. */
export const numericTemplateFields: ReadonlySet<TemplateField> = new Set([
  'frameIn',
  'frameOut',
  'nbFrames',
  'fps',
]);

type TemplatePart = { text: string } | { field: TemplateField };

/** Splits a template into text and fields; throws with a message naming the first problem. */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  for (let at = 0; at < template.length;) {
    const char = template.charAt(at);
    const next = template.charAt(at + 1);
    if ((char === '{' && next === '{') || (char === '}' && next === '}')) {
      text += char;
      at += 2;
      continue;
    }
    if (char === '}') throw new Error(`a lone "}" at position ${at + 1} (write "}}" for a literal brace)`);
    if (char !== '{') {
      text += char;
      at += 1;
      continue;
    }
    const end = template.indexOf('}', at);
    if (end < 0)
      throw new Error(`"{" at position ${at + 1} is never closed (write "{{" for a literal brace)`);
    const name = template.slice(at + 1, end).trim();
    if (!knownFields.has(name)) {
      throw new Error(`unknown field {${name}} (fields: ${templateFields.map((f) => `{${f}}`).join(', ')})`);
    }
    if (text !== '') parts.push({ text });
    text = '';
    parts.push({ field: name as TemplateField });
    at = end + 1;
  }
  if (text !== '') parts.push({ text });
  return parts;
}

/** A string that may use `{fields}`; checked at catalogue load. */
export const Template = z.string().superRefine((value, ctx) => {
  try {
    parseTemplate(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `template "${value}": ${(error as Error).message}` });
  }
});

/** Values of one shot for the templates; a field left out is one this shot has no value for. */
export type TemplateValues = Partial<Record<TemplateField, string | number>>;

/** The field a template needs and the shot does not have. */
export class TemplateValueError extends Error {
  override name = 'TemplateValueError';
  constructor(
    readonly field: TemplateField,
    readonly template: string,
  ) {
    super(`template "${template}" uses {${field}}, which has no value here`);
  }
}

/** Fills a template; a template that is exactly one numeric field gives that number. */
export function renderTemplate(template: string, values: TemplateValues): string | number {
  const parts = parseTemplate(template);
  const valueOf = (field: TemplateField): string | number => {
    const value = values[field];
    if (value === undefined) throw new TemplateValueError(field, template);
    return value;
  };
  const [only] = parts;
  if (parts.length === 1 && only !== undefined && 'field' in only && numericTemplateFields.has(only.field)) {
    return valueOf(only.field);
  }
  return parts.map((part) => ('text' in part ? part.text : String(valueOf(part.field)))).join('');
}

export function renderTemplateText(template: string, values: TemplateValues): string {
  return String(renderTemplate(template, values));
}

/** Kitsu entity kinds a render action may take tasks of. */
export const RenderEntityType = z.enum(['shot', 'asset', 'sequence', 'episode', 'edit']);
export type RenderEntityType = z.infer<typeof RenderEntityType>;

const allowEntityTypes = z
  .array(RenderEntityType)
  .min(1, 'list at least one entity type, or leave allowEntityTypes out (shots only)')
  .default(['shot']);

const defaultJobName = '{project.code} {sequence.name} {shot.name} {taskType.name}';

export const FlamencoRenderOptions = z
  .strictObject({
    /** Flamenco job type, e.g. `simple-blender-render`. */
    jobType: z.string().trim().min(1).default('simple-blender-render'),
    jobName: Template.default(defaultJobName),
    priority: z.number().int().min(0).max(100).default(50),
    /** Worker tag (a UUID from the Manager) the jobs are limited to. */
    workerTag: z.uuid('expected a Flamenco worker tag id (a UUID)').optional(),
    submitterPlatform: SubmitterPlatform.default('linux'),
    /** Settings of the job type; strings are templates. `frames` and `fps` default to the shot's. */
    settings: z.record(z.string(), z.union([Template, z.number(), z.boolean()])).default({}),
    allowEntityTypes,
  })
  .superRefine((options, ctx) => {
    if (options.jobType !== 'simple-blender-render') return;
    for (const key of ['blendfile', 'render_output_path']) {
      const value = options.settings[key];
      if (typeof value !== 'string' || value.trim() === '') {
        ctx.addIssue({
          code: 'custom',
          path: ['settings', key],
          message: `simple-blender-render needs settings.${key} (a path template)`,
        });
      }
    }
    const chunk = options.settings['chunk_size'];
    if (chunk !== undefined && !(typeof chunk === 'number' && Number.isInteger(chunk) && chunk >= 1)) {
      ctx.addIssue({
        code: 'custom',
        path: ['settings', 'chunk_size'],
        message: 'chunk_size must be a whole number of at least 1',
      });
    }
  });
export type FlamencoRenderOptions = z.infer<typeof FlamencoRenderOptions>;

export const CgruRenderOptions = z.strictObject({
  jobName: Template.default(defaultJobName),
  /** Afanasy service (render software), e.g. `blender`. */
  service: z.string().trim().min(1).default('blender'),
  /** Afanasy output parser, e.g. `blender`. */
  parser: z.string().trim().min(1).optional(),
  capacity: z.number().int().min(1).optional(),
  framesPerTask: z.number().int().min(1).default(1),
  priority: z.number().int().min(0).max(250).optional(),
  branch: Template.optional(),
  /** The command of each task, with Afanasy's frame tokens: `@#@` (frame), `@####@` (padded). */
  command: Template.refine((value) => /@#+@/.test(value), {
    message: 'command must contain a frame token such as @#@ or @####@',
  }),
  workingDirectory: Template.optional(),
  /** Output files, with the same frame tokens, shown by Afanasy. */
  files: Template.optional(),
  /** `delete` removes the job on cancel; `stop` stops its tasks and leaves it offline. */
  cancelMode: FarmCancelMode.default('delete'),
  allowEntityTypes,
});
export type CgruRenderOptions = z.infer<typeof CgruRenderOptions>;

/** What became of one shot, kept in the result of a render job. */
export const RenderShotResult = z.object({
  taskId: z.string(),
  name: z.string(),
  farmJobId: z.string(),
  url: z.string().optional(),
  state: FarmJobState,
  message: z.string(),
});
export type RenderShotResult = z.infer<typeof RenderShotResult>;

export const RenderResult = ResultBase.extend({
  type: z.literal('render'),
  farm: FarmKind,
  farmUrl: z.string(),
  shots: z.array(RenderShotResult),
});
export type RenderResult = z.infer<typeof RenderResult>;

/** A render result reads as its summary; the status view shows it whole (one entry per shot). */
export const describeRender: ResultDescription<RenderResult> = {
  comment: (result) => result.summary,
  status: (result) => result,
};

/**
 * Farm-side failures, refusals and a farm unreachable past FARM_UNREACHABLE_TIMEOUT_S end the job at
 * once; the attempts are for the rest (Kitsu down, a worker lost). A retry never submits twice.
 */
export const renderJobOptions: KindManifest['jobOptions'] = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 5000 },
};
