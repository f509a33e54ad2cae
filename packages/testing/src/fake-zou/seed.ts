import { createHash } from 'node:crypto';
import type {
  CustomActionRow,
  EntityRow,
  EntityTypeRow,
  FakeZouState,
  PersonRow,
  PlaylistRow,
  PreviewFileRow,
  ProjectRow,
  Role,
  TaskRow,
  TaskStatusRow,
  TaskTypeRow,
  TimeSpentRow,
} from './model.ts';

/*
 * The fake's production, identical on every start (ids are hashes of names).
 *
 * People (`ids.persons.<key>`, logins in `logins.<key>`, all with the password `seedPassword`):
 *   admin (Noor Haddad, admin, on no team: admins see everything), manager (Marc Dubois),
 *   supervisor (Sofia Rossi), artist (Kenji Sato, user), lighter (Lena Becker, user), client (Paula Ortiz),
 *   vendor (Ravi Menon, holds two compositing tasks only), outsider (Tom Novak, user, on Moon Garden
 *   only), producer (Ines Laurent, manager on no team: sees no project), bot (is_bot, role manager, no
 *   password: use the token `botToken` from startFakeZou).
 *
 * Projects (`ids.projects`):
 *   spf   "Spring Festival", code SPF, tvshow, fps "25", 1920x1080; team: manager, supervisor, artist,
 *         lighter, client, vendor, bot. Episodes E01, E02 (`ids.episodes`); sequences E01/SQ010,
 *         E01/SQ020, E02/SQ010 (`ids.sequences`); shots SH010..SH040 in each, 12 in all
 *         (`ids.shots[0]` = E01/SQ010/SH010 ... `ids.shots[11]` = E02/SQ010/SH040), frames 1001..;
 *         6 assets (`ids.assets`: mei, grandpa, lantern, dragon, street, fireworks).
 *         Tasks: Layout, Animation, Lighting, Compositing on every shot, Modeling on every asset,
 *         Rigging on mei, grandpa and dragon: 57 tasks (`ids.tasks.spf`, in that order, shot by shot).
 *   moon  "Moon Garden", code MGD, short, fps "24"; team: manager, outsider. One sequence, 2 shots,
 *         3 tasks (`ids.tasks.moon`).
 *   big   (only with `bigProject`) "Big Show", code BIG; team: manager, bot; `bigProject.tasks` tasks,
 *         3 per shot, 50 shots per sequence (`ids.tasks.big`), no previews.
 *
 * Previews: every task waiting for approval, done or retaken has one per revision (1 + retake_count), the
 * last one as `last_preview_file_id`; its last comment is dated like its last preview.
 * ../real-zou/seed.ts builds this same production in a real Zou.
 *
 * Named tasks (`ids.tasks.<name>`): layoutSh010, animationSh010, lightingSh010, compositingSh010 (all on
 * E01/SQ010/SH010), modelingMei, riggingMei, vendorCompositing (E02/SQ010/SH030, held by the vendor).
 */

export interface SeedOptions {
  /** Adds a third project with this many tasks, to exercise paging (Zou pages by 100). */
  bigProject?: { tasks: number };
}

export type PersonKey =
  | 'admin'
  | 'manager'
  | 'supervisor'
  | 'artist'
  | 'lighter'
  | 'client'
  | 'vendor'
  | 'outsider'
  | 'producer'
  | 'bot';

export type HumanKey = Exclude<PersonKey, 'bot'>;

export const seedPassword = 'spring-festival-2025';

export function seededUuid(name: string): string {
  const h = createHash('sha256').update(`fake-zou:${name}`).digest('hex');
  const variant = ((Number.parseInt(h.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const BASE_TIME = Date.UTC(2025, 2, 3, 9, 0, 0);

/** Zou's DateTime serialization: ISO without zone or milliseconds. */
export function zouTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

function at(days: number, minutes = 0): string {
  return zouTime(BASE_TIME + days * 86_400_000 + minutes * 60_000);
}

export interface SeedIds {
  persons: Record<PersonKey, string>;
  projects: { spf: string; moon: string; big: string | null };
  projectStatusOpen: string;
  entityTypes: { episode: string; sequence: string; shot: string };
  assetTypes: { character: string; prop: string; environment: string; fx: string };
  episodes: string[];
  sequences: string[];
  shots: string[];
  assets: {
    mei: string;
    grandpa: string;
    lantern: string;
    dragon: string;
    street: string;
    fireworks: string;
  };
  moonShots: string[];
  taskTypes: {
    modeling: string;
    rigging: string;
    layout: string;
    animation: string;
    lighting: string;
    compositing: string;
  };
  taskStatuses: { todo: string; wip: string; wfa: string; done: string; retake: string };
  tasks: {
    layoutSh010: string;
    animationSh010: string;
    lightingSh010: string;
    compositingSh010: string;
    modelingMei: string;
    riggingMei: string;
    vendorCompositing: string;
    spf: string[];
    moon: string[];
    big: string[];
  };
}

export interface Seed {
  ids: SeedIds;
  logins: Record<HumanKey, { email: string; password: string }>;
  rows: {
    persons: PersonRow[];
    projects: ProjectRow[];
    entityTypes: EntityTypeRow[];
    entities: EntityRow[];
    taskTypes: TaskTypeRow[];
    taskStatuses: TaskStatusRow[];
    tasks: TaskRow[];
    previewFiles: PreviewFileRow[];
    playlists: PlaylistRow[];
    customActions: CustomActionRow[];
    timeSpents: TimeSpentRow[];
  };
}

const PEOPLE: Record<PersonKey, { first: string; last: string; email: string | null; role: Role }> = {
  admin: { first: 'Noor', last: 'Haddad', email: 'noor.haddad@studio.example', role: 'admin' },
  manager: { first: 'Marc', last: 'Dubois', email: 'marc.dubois@studio.example', role: 'manager' },
  supervisor: { first: 'Sofia', last: 'Rossi', email: 'sofia.rossi@studio.example', role: 'supervisor' },
  artist: { first: 'Kenji', last: 'Sato', email: 'kenji.sato@studio.example', role: 'user' },
  lighter: { first: 'Lena', last: 'Becker', email: 'lena.becker@studio.example', role: 'user' },
  client: { first: 'Paula', last: 'Ortiz', email: 'paula.ortiz@client.example', role: 'client' },
  vendor: { first: 'Ravi', last: 'Menon', email: 'ravi.menon@vendor.example', role: 'vendor' },
  outsider: { first: 'Tom', last: 'Novak', email: 'tom.novak@studio.example', role: 'user' },
  producer: { first: 'Ines', last: 'Laurent', email: 'ines.laurent@studio.example', role: 'manager' },
  bot: { first: 'kitsu-actions', last: 'bot', email: null, role: 'manager' },
};

function person(key: PersonKey): PersonRow {
  const p = PEOPLE[key];
  return {
    id: seededUuid(`person:${key}`),
    type: 'Person',
    first_name: p.first,
    last_name: p.last,
    full_name: `${p.first} ${p.last}`,
    email: p.email,
    role: p.role,
    is_bot: key === 'bot',
    active: true,
    archived: false,
    desktop_login: key === 'bot' ? null : `${p.first.toLowerCase()}.${p.last.toLowerCase()}`,
    phone: null,
    timezone: 'Europe/Paris',
    locale: 'en_US',
    has_avatar: false,
    departments: [],
    data: null,
    created_at: at(-60),
    updated_at: at(-60),
  };
}

function entityType(name: string): EntityTypeRow {
  return {
    id: seededUuid(`entity-type:${name}`),
    type: 'EntityType',
    name,
    created_at: at(-90),
    updated_at: at(-90),
  };
}

function taskType(
  name: string,
  shortName: string,
  forEntity: TaskTypeRow['for_entity'],
  priority: number,
  color: string,
): TaskTypeRow {
  return {
    id: seededUuid(`task-type:${name}`),
    type: 'TaskType',
    name,
    short_name: shortName,
    color,
    priority,
    for_entity: forEntity,
    allow_timelog: true,
    archived: false,
    department_id: null,
    created_at: at(-90),
    updated_at: at(-90),
  };
}

function taskStatus(
  name: string,
  shortName: string,
  color: string,
  flags: Partial<
    Pick<TaskStatusRow, 'is_done' | 'is_retake' | 'is_wip' | 'is_feedback_request' | 'is_default'>
  >,
  artistAllowed: boolean,
): TaskStatusRow {
  return {
    id: seededUuid(`task-status:${shortName}`),
    type: 'TaskStatus',
    name,
    short_name: shortName,
    color,
    priority: 1,
    is_done: flags.is_done ?? false,
    is_artist_allowed: artistAllowed,
    is_client_allowed: flags.is_retake === true || flags.is_done === true,
    is_retake: flags.is_retake ?? false,
    is_feedback_request: flags.is_feedback_request ?? false,
    is_default: flags.is_default ?? false,
    is_wip: flags.is_wip ?? false,
    for_concept: false,
    archived: false,
    created_at: at(-90),
    updated_at: at(-90),
  };
}

interface EntityInit {
  key: string;
  type: EntityRow['type'];
  name: string;
  projectId: string;
  entityTypeId: string;
  parentId: string | null;
  nbFrames?: number;
  data?: Record<string, unknown>;
  description?: string;
}

function entity(init: EntityInit): EntityRow {
  return {
    id: seededUuid(`entity:${init.key}`),
    type: init.type,
    name: init.name,
    code: null,
    description: init.description ?? null,
    canceled: false,
    nb_frames: init.nbFrames ?? null,
    nb_entities_out: 0,
    is_casting_standby: false,
    status: 'running',
    project_id: init.projectId,
    entity_type_id: init.entityTypeId,
    parent_id: init.parentId,
    source_id: null,
    preview_file_id: null,
    data: init.data ?? {},
    ready_for: null,
    created_by: null,
    created_at: at(-30),
    updated_at: at(-30),
  };
}

function project(
  key: string,
  fields: Pick<ProjectRow, 'name' | 'code' | 'fps' | 'resolution' | 'production_type' | 'team'> & {
    ratio?: string;
  },
  shared: { statusId: string; taskTypes: string[]; taskStatuses: string[]; assetTypes: string[] },
): ProjectRow {
  return {
    id: seededUuid(`project:${key}`),
    type: 'Project',
    name: fields.name,
    code: fields.code,
    description: null,
    fps: fields.fps,
    ratio: fields.ratio ?? '16:9',
    resolution: fields.resolution,
    production_type: fields.production_type,
    production_style: '3d',
    project_status_id: shared.statusId,
    start_date: '2025-01-06',
    end_date: '2025-12-19',
    max_retakes: 3,
    is_clients_isolated: false,
    data: null,
    team: fields.team,
    task_types: shared.taskTypes,
    task_statuses: shared.taskStatuses,
    asset_types: shared.assetTypes,
    created_at: at(-120),
    updated_at: at(-120),
  };
}

export function buildSeed(options: SeedOptions = {}): Seed {
  const personKeys = Object.keys(PEOPLE) as PersonKey[];
  const persons = personKeys.map(person);
  const pid = Object.fromEntries(personKeys.map((k) => [k, seededUuid(`person:${k}`)])) as Record<
    PersonKey,
    string
  >;

  const episodeType = entityType('Episode');
  const sequenceType = entityType('Sequence');
  const shotType = entityType('Shot');
  const editType = entityType('Edit');
  const character = entityType('Character');
  const prop = entityType('Prop');
  const environment = entityType('Environment');
  const fx = entityType('FX');
  const entityTypes = [episodeType, sequenceType, shotType, editType, character, prop, environment, fx];

  const tt = {
    modeling: taskType('Modeling', 'MOD', 'Asset', 1, '#78909C'),
    rigging: taskType('Rigging', 'RIG', 'Asset', 2, '#9CCC65'),
    layout: taskType('Layout', 'LAY', 'Shot', 1, '#7CB342'),
    animation: taskType('Animation', 'ANIM', 'Shot', 2, '#26A69A'),
    lighting: taskType('Lighting', 'LGT', 'Shot', 3, '#F9A825'),
    compositing: taskType('Compositing', 'COMP', 'Shot', 4, '#FF5722'),
  };
  const ts = {
    todo: taskStatus('Todo', 'todo', '#f5f5f5', { is_default: true }, true),
    wip: taskStatus('Work In Progress', 'wip', '#3273dc', { is_wip: true }, true),
    wfa: taskStatus('Waiting For Approval', 'wfa', '#ab26ff', { is_feedback_request: true }, true),
    done: taskStatus('Done', 'done', '#22d160', { is_done: true }, false),
    retake: taskStatus('Retake', 'retake', '#ff3860', { is_retake: true }, false),
  };
  const shared = {
    statusId: seededUuid('project-status:open'),
    taskTypes: Object.values(tt).map((t) => t.id),
    taskStatuses: Object.values(ts).map((s) => s.id),
    assetTypes: [character.id, prop.id, environment.id, fx.id],
  };

  const spf = project(
    'spf',
    {
      name: 'Spring Festival',
      code: 'SPF',
      fps: '25',
      resolution: '1920x1080',
      production_type: 'tvshow',
      team: [pid.manager, pid.supervisor, pid.artist, pid.lighter, pid.client, pid.vendor, pid.bot],
    },
    shared,
  );
  const moon = project(
    'moon',
    {
      name: 'Moon Garden',
      code: 'MGD',
      fps: '24',
      resolution: '2048x858',
      ratio: '2.39',
      production_type: 'short',
      team: [pid.manager, pid.outsider],
    },
    shared,
  );
  const projects = [spf, moon];

  const entities: EntityRow[] = [];
  const tasks: TaskRow[] = [];
  const previewFiles: PreviewFileRow[] = [];
  const statusCycle = [ts.todo, ts.wip, ts.wfa, ts.done, ts.retake];

  const addTask = (init: {
    key: string;
    projectId: string;
    entity: EntityRow;
    type: TaskTypeRow;
    index: number;
    assignees: string[];
    minutesPerFrame?: number;
    baseEstimation?: number;
    /** False on the big project: its tasks are for paging, and previews are slow to make in a real Zou. */
    withPreviews?: boolean;
    updatedAt: string;
  }): TaskRow => {
    const status = statusCycle[(init.index * 7 + init.type.priority * 3) % statusCycle.length] ?? ts.todo;
    const estimation =
      init.baseEstimation ?? Math.max(60, (init.entity.nb_frames ?? 0) * (init.minutesPerFrame ?? 4));
    const started = status.id !== ts.todo.id;
    const retakeCount = status.is_retake
      ? 1 + (init.index % 2)
      : status.is_done && init.index % 3 === 0
        ? 1
        : 0;
    const factor = status.is_done || status.is_feedback_request ? 0.9 + (init.index % 4) * 0.1 : 0.5;
    const startDay = init.type.priority * 7 + (init.index % 12);
    const task: TaskRow = {
      id: seededUuid(`task:${init.key}`),
      type: 'Task',
      name: 'main',
      description: null,
      priority: init.index % 5 === 0 ? 2 : 0,
      difficulty: 3,
      duration: started ? Math.round(estimation * (status.is_retake ? 1.3 : factor)) : 0,
      estimation,
      completion_rate: 0,
      retake_count: retakeCount,
      sort_order: 0,
      start_date: at(startDay),
      due_date: at(startDay + 10),
      real_start_date: started ? at(startDay, 30) : null,
      end_date: status.is_done ? at(startDay + 8) : null,
      done_date: status.is_done ? at(startDay + 8) : null,
      last_comment_date: started ? at(startDay + 2) : null,
      nb_assets_ready: 0,
      data: null,
      nb_drawings: 0,
      last_preview_file_id: null,
      project_id: init.projectId,
      task_type_id: init.type.id,
      task_status_id: status.id,
      entity_id: init.entity.id,
      assigner_id: init.assignees.length > 0 ? pid.manager : null,
      assignees: init.assignees,
      created_at: at(-20),
      updated_at: init.updatedAt,
    };
    const reviewed = status.is_done || status.is_feedback_request || status.is_retake;
    if (reviewed && init.withPreviews !== false) {
      const revisions = 1 + retakeCount;
      for (let revision = 1; revision <= revisions; revision += 1) {
        const preview: PreviewFileRow = {
          id: seededUuid(`preview:${init.key}:${String(revision)}`),
          type: 'PreviewFile',
          name: `v${String(revision).padStart(3, '0')}`,
          original_name: `${init.entity.name}_${init.type.short_name}_v${String(revision).padStart(3, '0')}`,
          revision,
          position: 1,
          extension: init.type.for_entity === 'Asset' ? 'png' : 'mp4',
          status: 'ready',
          validation_status: revision === revisions && status.is_done ? 'validated' : 'neutral',
          file_size: 4_000_000 + revision * 1000,
          width: 1920,
          height: 1080,
          duration: (init.entity.nb_frames ?? 0) / 25,
          task_id: task.id,
          person_id: init.assignees[0] ?? null,
          comment_id: null,
          source: 'webgui',
          created_at: at(startDay + 2 + revision),
          updated_at: at(startDay + 2 + revision),
        };
        previewFiles.push(preview);
        task.last_preview_file_id = preview.id;
        // In Zou a preview comes with a comment: the last one is the last preview's.
        task.last_comment_date = preview.created_at;
      }
    }
    tasks.push(task);
    return task;
  };

  // Spring Festival: 2 episodes, 3 sequences, 12 shots, 6 assets.
  const episodes = ['E01', 'E02'].map((name) =>
    entity({
      key: `spf:${name}`,
      type: 'Episode',
      name,
      projectId: spf.id,
      entityTypeId: episodeType.id,
      parentId: null,
    }),
  );
  const [e01, e02] = episodes as [EntityRow, EntityRow];
  const sequences = [
    { ep: e01, name: 'SQ010' },
    { ep: e01, name: 'SQ020' },
    { ep: e02, name: 'SQ010' },
  ].map(({ ep, name }) =>
    entity({
      key: `spf:${ep.name}:${name}`,
      type: 'Sequence',
      name,
      projectId: spf.id,
      entityTypeId: sequenceType.id,
      parentId: ep.id,
    }),
  );
  entities.push(...episodes, ...sequences);

  const frameCounts = [48, 72, 96, 120, 60, 84, 100, 36, 110, 64, 90, 52];
  const shots: EntityRow[] = [];
  for (const [sequenceIndex, sequence] of sequences.entries()) {
    const episode = sequenceIndex < 2 ? e01 : e02;
    for (let i = 0; i < 4; i += 1) {
      const index = sequenceIndex * 4 + i;
      const nbFrames = frameCounts[index] ?? 48;
      const name = `SH0${String((i + 1) * 10)}`;
      // Kitsu keeps what its form sent: numbers here, strings on a few shots, as in real databases.
      const asStrings = index % 5 === 4;
      const frameIn = 1001;
      const frameOut = frameIn + nbFrames - 1;
      shots.push(
        entity({
          key: `spf:${episode.name}:${sequence.name}:${name}`,
          type: 'Shot',
          name,
          projectId: spf.id,
          entityTypeId: shotType.id,
          parentId: sequence.id,
          nbFrames,
          description: `${episode.name} ${sequence.name} ${name}`,
          data: asStrings
            ? { frame_in: String(frameIn), frame_out: String(frameOut), fps: '25' }
            : { frame_in: frameIn, frame_out: frameOut, fps: '25' },
        }),
      );
    }
  }
  entities.push(...shots);

  const assetDefs = [
    ['mei', 'Mei', character, 'Main character, 8 years old'],
    ['grandpa', 'Grandpa Lin', character, 'Mei’s grandfather, lantern maker'],
    ['lantern', 'Red Lantern', prop, 'Paper lantern, hero prop'],
    ['dragon', 'Dragon Puppet', prop, 'Parade dragon, 9 performers'],
    ['street', 'Market Street', environment, 'Night market street'],
    ['fireworks', 'Fireworks', fx, 'Finale fireworks'],
  ] as const;
  const assets = assetDefs.map(([key, name, type, description]) =>
    entity({
      key: `spf:asset:${key}`,
      type: 'Asset',
      name,
      projectId: spf.id,
      entityTypeId: type.id,
      parentId: null,
      description,
    }),
  );
  entities.push(...assets);

  let index = 0;
  const spfTaskIds: string[] = [];
  const shotTypes = [tt.layout, tt.animation, tt.lighting, tt.compositing];
  const perFrame = { [tt.layout.id]: 1, [tt.animation.id]: 8, [tt.lighting.id]: 4, [tt.compositing.id]: 3 };
  for (const [shotIndex, shot] of shots.entries()) {
    for (const type of shotTypes) {
      const vendorShot = shotIndex >= 10 && type === tt.compositing;
      const assignees =
        type === tt.layout || type === tt.animation
          ? [pid.artist]
          : vendorShot
            ? [pid.vendor]
            : [pid.lighter];
      const task = addTask({
        key: `spf:${String(shotIndex)}:${type.name}`,
        projectId: spf.id,
        entity: shot,
        type,
        index,
        assignees,
        minutesPerFrame: perFrame[type.id] ?? 4,
        updatedAt: at(30, index),
      });
      spfTaskIds.push(task.id);
      index += 1;
    }
  }
  for (const [assetIndex, asset] of assets.entries()) {
    const types =
      assetIndex === 0 || assetIndex === 1 || assetIndex === 3 ? [tt.modeling, tt.rigging] : [tt.modeling];
    for (const type of types) {
      const task = addTask({
        key: `spf:asset:${String(assetIndex)}:${type.name}`,
        projectId: spf.id,
        entity: asset,
        type,
        index,
        assignees: [pid.artist],
        baseEstimation: type === tt.modeling ? 960 : 720,
        updatedAt: at(30, index),
      });
      spfTaskIds.push(task.id);
      index += 1;
    }
  }

  // Moon Garden: a short without episodes, for the outsider.
  const moonSeq = entity({
    key: 'moon:SQ01',
    type: 'Sequence',
    name: 'SQ01',
    projectId: moon.id,
    entityTypeId: sequenceType.id,
    parentId: null,
  });
  const moonShots = ['SH01', 'SH02'].map((name, i) =>
    entity({
      key: `moon:SQ01:${name}`,
      type: 'Shot',
      name,
      projectId: moon.id,
      entityTypeId: shotType.id,
      parentId: moonSeq.id,
      nbFrames: 240 + i * 24,
      data: { frame_in: 1, frame_out: 240 + i * 24, fps: '24' },
    }),
  );
  entities.push(moonSeq, ...moonShots);
  const moonTaskIds = [
    addTask({
      key: 'moon:SH01:Animation',
      projectId: moon.id,
      entity: moonShots[0] as EntityRow,
      type: tt.animation,
      index: 0,
      assignees: [pid.outsider],
      updatedAt: at(31, 0),
    }).id,
    addTask({
      key: 'moon:SH02:Animation',
      projectId: moon.id,
      entity: moonShots[1] as EntityRow,
      type: tt.animation,
      index: 1,
      assignees: [pid.outsider],
      updatedAt: at(31, 1),
    }).id,
    addTask({
      key: 'moon:SH01:Lighting',
      projectId: moon.id,
      entity: moonShots[0] as EntityRow,
      type: tt.lighting,
      index: 2,
      assignees: [],
      updatedAt: at(31, 2),
    }).id,
  ];

  // Big Show: many tasks for paging tests.
  let bigId: string | null = null;
  const bigTaskIds: string[] = [];
  if (options.bigProject !== undefined) {
    const big = project(
      'big',
      {
        name: 'Big Show',
        code: 'BIG',
        fps: '25',
        resolution: '3840x2160',
        production_type: 'featurette',
        team: [pid.manager, pid.bot],
      },
      shared,
    );
    projects.push(big);
    bigId = big.id;
    const bigTypes = [tt.animation, tt.lighting, tt.compositing];
    let sequence: EntityRow | null = null;
    let shot: EntityRow | null = null;
    for (let i = 0; i < options.bigProject.tasks; i += 1) {
      const shotNumber = Math.floor(i / bigTypes.length);
      if (shotNumber % 50 === 0 && i % bigTypes.length === 0) {
        sequence = entity({
          key: `big:SQ${String(shotNumber / 50)}`,
          type: 'Sequence',
          name: `SQ${String(shotNumber / 50 + 1).padStart(3, '0')}`,
          projectId: big.id,
          entityTypeId: sequenceType.id,
          parentId: null,
        });
        entities.push(sequence);
      }
      if (i % bigTypes.length === 0) {
        shot = entity({
          key: `big:SH${String(shotNumber)}`,
          type: 'Shot',
          name: `SH${String(shotNumber + 1).padStart(4, '0')}`,
          projectId: big.id,
          entityTypeId: shotType.id,
          parentId: sequence?.id ?? null,
          nbFrames: 48 + (shotNumber % 7) * 12,
          data: { frame_in: 1001, frame_out: 1048 + (shotNumber % 7) * 12, fps: '25' },
        });
        entities.push(shot);
      }
      const type = bigTypes[i % bigTypes.length] ?? tt.animation;
      bigTaskIds.push(
        addTask({
          key: `big:${String(i)}`,
          projectId: big.id,
          entity: shot as EntityRow,
          type,
          index: i,
          assignees: [],
          withPreviews: false,
          // Distinct, so Zou's "newest updated first" order is total.
          updatedAt: at(20, i),
        }).id,
      );
    }
  }

  const taskKey = (shotIndex: number, type: TaskTypeRow) =>
    seededUuid(`task:spf:${String(shotIndex)}:${type.name}`);
  const ids: SeedIds = {
    persons: pid,
    projects: { spf: spf.id, moon: moon.id, big: bigId },
    projectStatusOpen: shared.statusId,
    entityTypes: { episode: episodeType.id, sequence: sequenceType.id, shot: shotType.id },
    assetTypes: { character: character.id, prop: prop.id, environment: environment.id, fx: fx.id },
    episodes: episodes.map((e) => e.id),
    sequences: sequences.map((s) => s.id),
    shots: shots.map((s) => s.id),
    assets: {
      mei: seededUuid('entity:spf:asset:mei'),
      grandpa: seededUuid('entity:spf:asset:grandpa'),
      lantern: seededUuid('entity:spf:asset:lantern'),
      dragon: seededUuid('entity:spf:asset:dragon'),
      street: seededUuid('entity:spf:asset:street'),
      fireworks: seededUuid('entity:spf:asset:fireworks'),
    },
    moonShots: moonShots.map((s) => s.id),
    taskTypes: {
      modeling: tt.modeling.id,
      rigging: tt.rigging.id,
      layout: tt.layout.id,
      animation: tt.animation.id,
      lighting: tt.lighting.id,
      compositing: tt.compositing.id,
    },
    taskStatuses: {
      todo: ts.todo.id,
      wip: ts.wip.id,
      wfa: ts.wfa.id,
      done: ts.done.id,
      retake: ts.retake.id,
    },
    tasks: {
      layoutSh010: taskKey(0, tt.layout),
      animationSh010: taskKey(0, tt.animation),
      lightingSh010: taskKey(0, tt.lighting),
      compositingSh010: taskKey(0, tt.compositing),
      modelingMei: seededUuid('task:spf:asset:0:Modeling'),
      riggingMei: seededUuid('task:spf:asset:0:Rigging'),
      vendorCompositing: taskKey(10, tt.compositing),
      spf: spfTaskIds,
      moon: moonTaskIds,
      big: bigTaskIds,
    },
  };

  const humans = personKeys.filter((k): k is HumanKey => k !== 'bot');
  const logins = Object.fromEntries(
    humans.map((k) => [k, { email: PEOPLE[k].email ?? '', password: seedPassword }]),
  ) as Record<HumanKey, { email: string; password: string }>;

  return {
    ids,
    logins,
    rows: {
      persons,
      projects,
      entityTypes,
      entities,
      taskTypes: Object.values(tt),
      taskStatuses: Object.values(ts),
      tasks,
      previewFiles,
      playlists: [],
      customActions: [],
      timeSpents: timeSpentRows(tasks, ids),
    },
  };
}

/**
 * Time spents on the named tasks of SH010 and Mei that were started: two days each, by their first
 * assignee, 60 % then the rest, adding up to the task's duration (Zou sets a task's duration to the sum of
 * its time spents). ../real-zou/seed.ts makes the same entries in the real Zou.
 */
function timeSpentRows(tasks: TaskRow[], ids: SeedIds): TimeSpentRow[] {
  const named = ids.tasks;
  const rows: TimeSpentRow[] = [];
  for (const id of [
    named.layoutSh010,
    named.animationSh010,
    named.lightingSh010,
    named.compositingSh010,
    named.modelingMei,
    named.riggingMei,
  ]) {
    const task = tasks.find((t) => t.id === id);
    const personId = task?.assignees[0];
    if (task === undefined || task.real_start_date === null || personId === undefined || task.duration <= 0) {
      continue;
    }
    const first = Math.ceil(task.duration * 0.6);
    const day = Date.parse(`${task.real_start_date.slice(0, 10)}T00:00:00Z`);
    const entries = [{ date: day, minutes: first }];
    if (task.duration > first) entries.push({ date: day + 86_400_000, minutes: task.duration - first });
    for (const entry of entries) {
      const date = new Date(entry.date).toISOString().slice(0, 10);
      rows.push({
        id: seededUuid(`time-spent:${task.id}:${date}`),
        type: 'TimeSpent',
        task_id: task.id,
        person_id: personId,
        date,
        duration: entry.minutes,
        created_at: at(40),
        updated_at: at(40),
      });
    }
  }
  return rows;
}

/** A fresh, mutable state from a seed (rows are copied, so the seed stays untouched). */
export function createState(seed: Seed): FakeZouState {
  const copy = <T>(row: T): T => structuredClone(row);
  const map = <T extends { id: string }>(rows: T[]) => new Map(rows.map((row) => [row.id, copy(row)]));
  const passwords = new Map<string, string>();
  for (const row of seed.rows.persons) if (!row.is_bot) passwords.set(row.id, seedPassword);
  return {
    persons: map(seed.rows.persons),
    projects: map(seed.rows.projects),
    entityTypes: map(seed.rows.entityTypes),
    entities: map(seed.rows.entities),
    taskTypes: map(seed.rows.taskTypes),
    taskStatuses: map(seed.rows.taskStatuses),
    tasks: map(seed.rows.tasks),
    previewFiles: map(seed.rows.previewFiles),
    playlists: map(seed.rows.playlists),
    customActions: map(seed.rows.customActions),
    timeSpents: map(seed.rows.timeSpents),
    comments: [],
    requests: [],
    passwords,
  };
}
