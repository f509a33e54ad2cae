import { randomUUID } from 'node:crypto';
import type { EntityRow, FakeZou, TaskRow } from '@kitsu-actions/testing';

/**
 * A small production, "Stats Test", added to a fake Zou for the statistics tests, whose right answers
 * the tests write out by hand. The report is taken as of `asOf`, a Wednesday: its week starts on Monday
 * 2026-11-23. Times are minutes, as Kitsu stores them.
 *
 *   task  shot           type              status          assignees        est.  spent  retakes  due          done
 *   t1    E01/SQ01/SH1   Layout            Done            artist           600   480    0        2026-11-20   2026-11-18
 *   t2    E01/SQ01/SH2   Layout            WIP             artist           600   900    1        2026-11-20   -
 *   t3    E02/SQ02/SH3   Layout            Todo            (nobody)         300   0      0        (none)       -
 *   t4    E01/SQ01/SH1   Animation         Retake          artist, lighter  1200  1500   2        2026-11-01   -
 *   t5    E01/SQ01/SH2   Animation         Done            lighter          0     240    1        2026-11-30   2026-11-24
 *   t6    E02/SQ02/SH3   Animation         WIP             former (inactive) 480  120    0        2026-12-10   -
 *   t7    E02/SQ02/SH3   (deleted type)    (deleted status) lighter         60    0      0        2026-11-24   -
 *   t8    E01/SQ01/SH1   Layout            Done            lighter          120   120    0        2026-10-01   2026-11-02
 *
 * Time sheets: artist on t2 300 min on 2026-11-17 and 600 on 2026-11-24; lighter on t4 500 on 2026-11-10;
 * artist on t1 480 on 2026-10-01 (before a 4-week window). Episode E03 has a sequence and no task.
 */
export const asOf = '2026-11-25T12:00:00.000Z';

export interface StatsProduction {
  projectId: string;
  episodes: { e01: string; e02: string; e03: string };
  tasks: Record<'t1' | 't2' | 't3' | 't4' | 't5' | 't6' | 't7' | 't8', string>;
  persons: { artist: string; lighter: string; former: string };
  deletedTaskType: string;
  deletedStatus: string;
}

export function addStatsProduction(zou: FakeZou): StatsProduction {
  const { state, seed } = zou;
  const { ids } = seed;
  const template = state.projects.get(ids.projects.moon);
  const sampleShot = state.entities.get(ids.shots[0] ?? '');
  const sampleTask = state.tasks.get(ids.tasks.layoutSh010);
  const samplePerson = state.persons.get(ids.persons.artist);
  if (!template || !sampleShot || !sampleTask || !samplePerson) throw new Error('the seed has changed');

  const projectId = randomUUID();
  const former = randomUUID();
  state.persons.set(former, {
    ...samplePerson,
    id: former,
    first_name: 'Former',
    last_name: 'Animator',
    full_name: 'Former Animator',
    email: 'former@studio.example',
    active: false,
  });
  state.projects.set(projectId, {
    ...template,
    id: projectId,
    name: 'Stats Test',
    code: 'STT',
    team: [ids.persons.manager, ids.persons.artist, ids.persons.lighter, former, ids.persons.bot],
  });

  const entity = (type: EntityRow['type'], name: string, parentId: string | null, typeId: string): string => {
    const id = randomUUID();
    state.entities.set(id, {
      ...sampleShot,
      id,
      type,
      name,
      project_id: projectId,
      parent_id: parentId,
      entity_type_id: typeId,
      nb_frames: type === 'Shot' ? 48 : null,
    });
    return id;
  };
  const types = ids.entityTypes;
  const e01 = entity('Episode', 'E01', null, types.episode);
  const e02 = entity('Episode', 'E02', null, types.episode);
  const e03 = entity('Episode', 'E03', null, types.episode);
  const sq01 = entity('Sequence', 'SQ01', e01, types.sequence);
  const sq02 = entity('Sequence', 'SQ02', e02, types.sequence);
  entity('Sequence', 'SQ03', e03, types.sequence);
  const sh1 = entity('Shot', 'SH1', sq01, types.shot);
  const sh2 = entity('Shot', 'SH2', sq01, types.shot);
  const sh3 = entity('Shot', 'SH3', sq02, types.shot);

  const tt = ids.taskTypes;
  const st = ids.taskStatuses;
  const deletedTaskType = randomUUID();
  const deletedStatus = randomUUID();
  const { artist, lighter } = ids.persons;
  let order = 0;
  const task = (
    init: Partial<TaskRow> & Pick<TaskRow, 'entity_id' | 'task_type_id' | 'task_status_id'>,
  ): string => {
    const id = randomUUID();
    order += 1;
    state.tasks.set(id, {
      ...sampleTask,
      id,
      project_id: projectId,
      assignees: [],
      estimation: 0,
      duration: 0,
      retake_count: 0,
      due_date: null,
      done_date: null,
      end_date: null,
      last_preview_file_id: null,
      updated_at: `2026-11-2${String(order % 5)}T10:00:0${String(order)}`,
      ...init,
    });
    return id;
  };
  const tasks = {
    t1: task({
      entity_id: sh1,
      task_type_id: tt.layout,
      task_status_id: st.done,
      assignees: [artist],
      estimation: 600,
      duration: 480,
      due_date: '2026-11-20T00:00:00',
      done_date: '2026-11-18T10:00:00',
      end_date: '2026-11-18T10:00:00',
    }),
    t2: task({
      entity_id: sh2,
      task_type_id: tt.layout,
      task_status_id: st.wip,
      assignees: [artist],
      estimation: 600,
      duration: 900,
      retake_count: 1,
      due_date: '2026-11-20T00:00:00',
    }),
    t3: task({ entity_id: sh3, task_type_id: tt.layout, task_status_id: st.todo, estimation: 300 }),
    t4: task({
      entity_id: sh1,
      task_type_id: tt.animation,
      task_status_id: st.retake,
      assignees: [artist, lighter],
      estimation: 1200,
      duration: 1500,
      retake_count: 2,
      due_date: '2026-11-01T00:00:00',
    }),
    t5: task({
      entity_id: sh2,
      task_type_id: tt.animation,
      task_status_id: st.done,
      assignees: [lighter],
      duration: 240,
      retake_count: 1,
      due_date: '2026-11-30T00:00:00',
      done_date: '2026-11-24T09:00:00',
      end_date: '2026-11-24T09:00:00',
    }),
    t6: task({
      entity_id: sh3,
      task_type_id: tt.animation,
      task_status_id: st.wip,
      assignees: [former],
      estimation: 480,
      duration: 120,
      due_date: '2026-12-10T00:00:00',
    }),
    t7: task({
      entity_id: sh3,
      task_type_id: deletedTaskType,
      task_status_id: deletedStatus,
      assignees: [lighter],
      estimation: 60,
      due_date: '2026-11-24T00:00:00',
    }),
    t8: task({
      entity_id: sh1,
      task_type_id: tt.layout,
      task_status_id: st.done,
      assignees: [lighter],
      estimation: 120,
      duration: 120,
      due_date: '2026-10-01T00:00:00',
      done_date: '2026-11-02T12:00:00',
      end_date: '2026-11-02T12:00:00',
    }),
  };
  const sheet = (taskId: string, personId: string, date: string, duration: number): void => {
    const id = randomUUID();
    state.timeSpents.set(id, {
      id,
      type: 'TimeSpent',
      task_id: taskId,
      person_id: personId,
      date,
      duration,
      created_at: `${date}T18:00:00`,
      updated_at: `${date}T18:00:00`,
    });
  };
  sheet(tasks.t2, artist, '2026-11-17', 300);
  sheet(tasks.t2, artist, '2026-11-24', 600);
  sheet(tasks.t4, lighter, '2026-11-10', 500);
  sheet(tasks.t1, artist, '2026-10-01', 480);
  return {
    projectId,
    episodes: { e01, e02, e03 },
    tasks,
    persons: { artist, lighter, former },
    deletedTaskType,
    deletedStatus,
  };
}
