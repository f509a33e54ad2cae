import { describe, expect, it } from 'vitest';
import { CatalogueError, parseCatalogue } from './catalogue.ts';
import { ConfigError, loadConfig } from './config.ts';
import { checkCatalogueSchemes } from './farms.ts';
import { renderLaunchUrl } from './launch-url.ts';

const launchCatalogue = (url: string): string =>
  `actions:\n  - { id: open-rv, name: Open in RV, kind: launch, options: { url: ${JSON.stringify(url)} } }\n`;

/** The catalogue's problems for `url`, as the person who wrote it reads them. */
function refusal(url: string): string {
  try {
    parseCatalogue(launchCatalogue(url), 'actions.yaml');
  } catch (error) {
    if (error instanceof CatalogueError) return error.message;
    throw error;
  }
  return 'accepted';
}

describe('launch URLs', () => {
  it('encode each value for where it sits: path, query, fragment', () => {
    const values = {
      'shot.name': 'SH 010 é#?',
      'sequence.name': 'SQ/010 & co',
      'project.code': 'a+b=c',
      frameIn: 1001,
    };
    expect(
      renderLaunchUrl(
        'rv://open/{sequence.name}/{shot.name}?shot={shot.name}&from={frameIn}&code={project.code}#{sequence.name}',
        values,
      ),
    ).toBe(
      'rv://open/SQ/010%20%26%20co/SH%20010%20%C3%A9%23%3F?shot=SH%20010%20%C3%A9%23%3F&from=1001&code=a%2Bb%3Dc#SQ%2F010%20%26%20co',
    );
    // The template's own text is kept as written, braces doubled for a literal one.
    expect(renderLaunchUrl('kabaret://flow?oid={{{shot.name}}}', values)).toBe(
      'kabaret://flow?oid={SH%20010%20%C3%A9%23%3F}',
    );
  });

  it('name the field a task has no value for', () => {
    expect(() => renderLaunchUrl('rv://play?frames={frames}', { 'shot.name': 'SH010' })).toThrow(
      'template "rv://play?frames={frames}" uses {frames}, which has no value here',
    );
  });

  it('are refused when the catalogue loads if their scheme is one that runs in the browser or reads files', () => {
    for (const url of [
      'javascript:alert({shot.name})',
      'JavaScript:alert(1)',
      'data:text/html,{shot.name}',
      'file:///prod/{shot.name}.exr',
      'http://player.example/{shot.name}',
      'https://player.example/{shot.name}',
      'vbscript:x',
    ]) {
      const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
      expect(refusal(url)).toContain(`the scheme "${scheme}" is never allowed for a launch`);
    }
  });

  it('are refused when the catalogue loads without a scheme written out, or with an unknown field', () => {
    expect(refusal('{shot.name}://x')).toContain('must start with its scheme written out');
    expect(refusal('/prod/{shot.name}')).toContain('must start with its scheme written out');
    expect(refusal('rv://{shot.nom}')).toContain('unknown field {shot.nom}');
    expect(refusal('rv://play/{shot.name}')).toBe('accepted');
  });

  it('stop the start-up when their scheme is not in LAUNCH_SCHEMES (rv, rvlink and kabaret unless set)', () => {
    const catalogue = parseCatalogue(launchCatalogue('mrviewer://open/{shot.name}'), 'actions.yaml');
    expect(() => checkCatalogueSchemes(catalogue, loadConfig({}))).toThrow(
      /"open-rv" opens mrviewer: URLs, and LAUNCH_SCHEMES allows rv:, rvlink:, kabaret:: add mrviewer to LAUNCH_SCHEMES/,
    );
    expect(() =>
      checkCatalogueSchemes(catalogue, loadConfig({ LAUNCH_SCHEMES: 'MrViewer, rv' })),
    ).not.toThrow();
    expect(() =>
      checkCatalogueSchemes(parseCatalogue(launchCatalogue('rv://x'), 'a.yaml'), loadConfig({})),
    ).not.toThrow();
  });

  it('LAUNCH_SCHEMES itself refuses a scheme never allowed', () => {
    expect(() => loadConfig({ LAUNCH_SCHEMES: 'rv,javascript' })).toThrow(ConfigError);
    expect(() => loadConfig({ LAUNCH_SCHEMES: 'rv,javascript' })).toThrow(
      /the scheme "javascript" is never allowed for a launch/,
    );
    expect(() => loadConfig({ LAUNCH_SCHEMES: 'rv,not a scheme' })).toThrow(/a scheme is a letter/);
  });
});
