import { z } from 'zod';
import { parseTemplate, TemplateValueError, type TemplateValues } from './render.ts';

/**
 * Schemes a launch URL may never use, whatever LAUNCH_SCHEMES says: they run script, read local files or
 * open pages in the browser rather than an application (the `launch` kind hands a URL to the desktop).
 */
export const forbiddenSchemes: ReadonlySet<string> = new Set([
  'javascript',
  'vbscript',
  'data',
  'blob',
  'file',
  'filesystem',
  'about',
  'http',
  'https',
  'ws',
  'wss',
  'ftp',
]);

/** A URL scheme as RFC 3986 spells it, lower case, and not one of `forbiddenSchemes`. */
export const UrlScheme = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z][a-z0-9+.-]*$/, 'a scheme is a letter, then letters, digits, "+", "-" or "."')
  .refine((scheme) => !forbiddenSchemes.has(scheme), {
    error: (issue) => `the scheme "${String(issue.input)}" is never allowed for a launch`,
  });

/** The scheme a launch URL template starts with (literal text up to its first ":"), lower case. */
export function schemeOf(template: string): string | undefined {
  const [first] = parseTemplate(template);
  if (first === undefined || !('text' in first)) return undefined;
  const colon = first.text.indexOf(':');
  return colon <= 0 ? undefined : first.text.slice(0, colon).toLowerCase();
}

/** A launch URL template: checked when the catalogue loads (its fields, then its literal scheme). */
export const LaunchUrl = z.string().superRefine((template, ctx) => {
  try {
    parseTemplate(template);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `template "${template}": ${(error as Error).message}` });
    return;
  }
  const scheme = schemeOf(template);
  if (scheme === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `template "${template}" must start with its scheme written out (such as rv: or kabaret:), not a field`,
    });
    return;
  }
  const checked = UrlScheme.safeParse(scheme);
  if (!checked.success) {
    ctx.addIssue({ code: 'custom', message: checked.error.issues.map((issue) => issue.message).join('; ') });
  }
});

type Position = 'path' | 'query' | 'fragment';

/** A field's value encoded for where it sits: in a path "/" stays, in a query or fragment nothing special does. */
function encodeFor(position: Position, value: string): string {
  const encoded = encodeURIComponent(value);
  return position === 'path' ? encoded.replace(/%2F/gi, '/') : encoded;
}

/**
 * Fills a launch URL template: the literal text as written, each field percent-encoded for its position
 * (before any "?" a path, then the query, after "#" the fragment), so a name with spaces, accents, "#" or
 * "?" stays one value of the URL. Throws TemplateValueError for a field without a value.
 */
export function renderLaunchUrl(template: string, values: TemplateValues): string {
  let position: Position = 'path';
  let url = '';
  for (const part of parseTemplate(template)) {
    if ('text' in part) {
      url += part.text;
      if (part.text.includes('#')) position = 'fragment';
      else if (part.text.includes('?') && position === 'path') position = 'query';
      continue;
    }
    const value = values[part.field];
    if (value === undefined) throw new TemplateValueError(part.field, template);
    url += encodeFor(position, String(value));
  }
  return url;
}
