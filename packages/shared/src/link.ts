import { z } from 'zod';

/** A link shown with a job: its status page, its result, a farm's own page of a render. */
export const Link = z.object({ label: z.string(), href: z.string() });
export type Link = z.infer<typeof Link>;
