import type { Figure } from '../lib/types.ts';

export const figure: Figure = {
  id: 'render-tracking',
  title: 'render job tracking (Flamenco)',
  goalText: '—',
  run: () => Promise.resolve({ status: 'skipped', reason: 'not measured: needs the render.flamenco kind' }),
};
