import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CatalogueError, parseCatalogue } from './catalogue.ts';
import { loadConfig, repoRoot } from './config.ts';
import { checkCatalogueFarms } from './farms.ts';
import { queueOfJobId } from './queues.ts';
import {
  CgruRenderOptions,
  FlamencoRenderOptions,
  TemplateValueError,
  parseTemplate,
  renderTemplate,
} from './render.ts';

function problemsOf(source: string): string[] {
  try {
    parseCatalogue(source, 'actions.yaml');
  } catch (error) {
    if (error instanceof CatalogueError) return error.problems;
    throw error;
  }
  throw new Error('expected the catalogue to be refused');
}

const flamenco = (settings: string): string =>
  [
    'actions:',
    '  - id: render',
    '    name: Render',
    '    kind: render.flamenco',
    '    options:',
    '      settings:',
    settings,
  ].join('\n');

describe('render templates', () => {
  it('fills fields, keeps literal braces, and gives a number for a lone numeric field', () => {
    const values = { 'shot.name': 'SH010', 'project.code': 'SPF', fps: 25, frameIn: 1001 } as const;
    expect(renderTemplate('/prod/{project.code}/{shot.name}/{{x}}', values)).toBe('/prod/SPF/SH010/{x}');
    expect(renderTemplate('{fps}', values)).toBe(25);
    expect(renderTemplate(' {fps}', values)).toBe(' 25');
    expect(renderTemplate('{ frameIn }', values)).toBe(1001);
  });

  it('names the field a shot has no value for', () => {
    expect(() => renderTemplate('/{episode.name}/{shot.name}', { 'shot.name': 'SH010' })).toThrow(
      TemplateValueError,
    );
    expect(() => renderTemplate('/{episode.name}', {})).toThrow(/uses \{episode\.name\}, which has no value/);
  });

  it('refuses unknown fields and unbalanced braces', () => {
    expect(() => parseTemplate('{shot.nmae}')).toThrow(
      /unknown field \{shot\.nmae\} \(fields: \{project\.id\}/,
    );
    expect(() => parseTemplate('/a/{shot.name')).toThrow(/never closed/);
    expect(() => parseTemplate('/a/}')).toThrow(/lone "}"/);
  });
});

describe('render options in the catalogue', () => {
  it('an unknown template field is an error at load time, with the path of the option and its line', () => {
    const problems = problemsOf(
      flamenco(
        [
          '        blendfile: "/prod/{project.code}/{shot.nmae}.blend"',
          '        render_output_path: "/render/{shot.name}/######"',
        ].join('\n'),
      ),
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /^actions\[0\]\.options\.settings\.blendfile \(line 7:20\): template "\/prod\/\{project\.code\}\/\{shot\.nmae\}\.blend": unknown field \{shot\.nmae\}/,
      ),
    ]);
  });

  it('checks each option of both kinds', () => {
    const problems = problemsOf(
      [
        'actions:',
        '  - id: flamenco',
        '    name: Flamenco',
        '    kind: render.flamenco',
        '    options:',
        '      priority: 101',
        '      workerTag: not-a-uuid',
        '      submitterPlatform: amiga',
        '      allowEntityTypes: [planet]',
        '  - id: cgru',
        '    name: CGRU',
        '    kind: render.cgru',
        '    options:',
        '      priority: 251',
        '      command: "blender -b {shot.name}.blend"',
        '      workingDirectory: "/prod/{sequence}"',
        '      cancelMode: pause',
        '      frames: 12',
        '  - id: flamenco-settings',
        '    name: Flamenco settings',
        '    kind: render.flamenco',
        '    options:',
        '      settings: { blendfile: "/a.blend", chunk_size: 0 }',
      ].join('\n'),
    );
    const expected = [
      /^actions\[0\]\.options\.priority .*100/,
      /^actions\[0\]\.options\.workerTag .*worker tag id/,
      /^actions\[0\]\.options\.submitterPlatform /,
      /^actions\[0\]\.options\.allowEntityTypes\[0\] /,
      /^actions\[1\]\.options\.priority .*250/,
      /^actions\[1\]\.options\.command .*frame token/,
      /^actions\[1\]\.options\.workingDirectory .*unknown field \{sequence\}/,
      /^actions\[1\]\.options\.cancelMode /,
      /^actions\[1\]\.options .*frames/,
      /^actions\[2\]\.options\.settings\.render_output_path .*simple-blender-render needs settings\.render_output_path/,
      /^actions\[2\]\.options\.settings\.chunk_size .*at least 1/,
    ];
    for (const pattern of expected) expect(problems).toContainEqual(expect.stringMatching(pattern));
  });

  it('fills defaults: shots only, priority 50, linux, delete on cancel', () => {
    expect(
      FlamencoRenderOptions.parse({ settings: { blendfile: '/a.blend', render_output_path: '/r/###' } }),
    ).toMatchObject({
      jobType: 'simple-blender-render',
      priority: 50,
      submitterPlatform: 'linux',
      allowEntityTypes: ['shot'],
    });
    expect(CgruRenderOptions.parse({ command: 'blender -f @#@' })).toMatchObject({
      service: 'blender',
      framesPerTask: 1,
      cancelMode: 'delete',
      allowEntityTypes: ['shot'],
    });
  });

  it('loads without any farm configured; the start-up check names the missing setting', () => {
    const catalogue = parseCatalogue(
      [
        flamenco('        blendfile: "/a.blend"\n        render_output_path: "/r/######"'),
        '  - id: cgru',
        '    name: CGRU',
        '    kind: render.cgru',
        '    options: { command: "blender -f @#@" }',
        '  - { id: debug, name: Debug, kind: debug }',
      ].join('\n'),
      'actions.yaml',
    );
    const bare = loadConfig({ ACTIONS_FILE: 'actions.yaml' });
    let error: unknown;
    try {
      checkCatalogueFarms(catalogue, bare);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CatalogueError);
    expect((error as CatalogueError).problems).toEqual([
      expect.stringMatching(
        /^actions\[0\] "render" \(kind render\.flamenco\) needs FLAMENCO_URL, which is not set/,
      ),
      expect.stringMatching(/^actions\[1\] "cgru" \(kind render\.cgru\) needs AFANASY_HOST/),
    ]);
    const configured = loadConfig({ FLAMENCO_URL: 'http://flamenco:8080', AFANASY_HOST: 'cgru' });
    expect(() => checkCatalogueFarms(catalogue, configured)).not.toThrow();
    expect(configured.farms.afanasy).toEqual({ host: 'cgru', port: 51000, jobUrl: undefined });
  });
});

describe('the shipped example', () => {
  it('starts with no farm configured, and its commented-out render actions are valid once uncommented', () => {
    const file = path.join(repoRoot, 'actions.example.yaml');
    const source = readFileSync(file, 'utf8');
    const shipped = parseCatalogue(source, file);
    expect(() => checkCatalogueFarms(shipped, loadConfig({}))).not.toThrow();
    const commented = source
      .slice(source.indexOf('  # - id: render-flamenco'))
      .split('\n')
      .flatMap((line) => {
        const match = /^ {2}# ?(.*)$/.exec(line);
        return match ? [`  ${match[1] ?? ''}`] : [];
      });
    const renders = parseCatalogue(`actions:\n${commented.join('\n')}\n`, file);
    expect(renders.actions.map((action) => action.kind)).toEqual(['render.flamenco', 'render.cgru']);
  });
});

describe('the render queue', () => {
  it('render kinds go to their own queue, and their job ids say so', () => {
    expect(queueOfJobId('render-0b6a4f0e-6f4c-4c55-9d5b-0b8f4b6c8f11')).toBe('render');
    expect(queueOfJobId('pages-0b6a4f0e-6f4c-4c55-9d5b-0b8f4b6c8f11')).toBe('pages');
    expect(queueOfJobId('renders-0b6a4f0e')).toBeUndefined();
  });
});
