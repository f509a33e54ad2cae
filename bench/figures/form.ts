import { ratioGoal } from '../lib/figure.ts';
import { receiverVsBare } from '../lib/receiver-vs-bare.ts';
import type { Figure } from '../lib/types.ts';

export const figure: Figure = {
  id: 'form',
  title: 'form POST /actions/debug (form-assets.json, Accept: text/html) 303 req/s vs bare Koa 303',
  ...ratioGoal('>=', 0.5),
  run: (ctx) =>
    receiverVsBare(ctx, {
      fixture: 'form-assets',
      path: '/actions/debug',
      expectStatus: 303,
      bare: 'form-303',
    }),
};
