import { receiverVsBare } from '../lib/receiver-vs-bare.ts';
import type { Figure } from '../lib/types.ts';

export const figure: Figure = {
  id: 'form',
  title: 'form POST /actions/debug (form-assets.json, Accept: text/html) 303 req/s vs bare Koa 303',
  goalText: 'ratio >= 0.5',
  goal: { op: '>=', target: 0.5 },
  run: (ctx) =>
    receiverVsBare(ctx, {
      fixture: 'form-assets',
      path: '/actions/debug',
      expectStatus: 303,
      bare: 'form-303',
    }),
};
