import { ratioGoal } from '../lib/figure.ts';
import { receiverVsBare } from '../lib/receiver-vs-bare.ts';
import type { Figure } from '../lib/types.ts';

export const figure: Figure = {
  id: 'ack',
  title: 'AJAX POST /actions/debug-background (ajax-shots.json) req/s vs bare Koa+koa-body 202',
  ...ratioGoal('>=', 0.5),
  run: (ctx) =>
    receiverVsBare(ctx, {
      fixture: 'ajax-shots',
      path: '/actions/debug-background',
      expectStatus: 202,
      bare: 'json-202',
    }),
};
