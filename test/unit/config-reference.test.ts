import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configurationReference, declaredRows } from '../../scripts/config-reference.js';
import { CONFIG_VARIABLES } from '../../src/config.js';

describe('docs/configuration.md', () => {
  const written = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

  it('is what the declarations write (run `npm run docs:config` after changing one)', () => {
    expect(written).toBe(configurationReference());
  });

  it('has one doc comment for every declared variable, and none for another', () => {
    const rows = declaredRows();
    expect([...rows.keys()].sort()).toEqual([...CONFIG_VARIABLES].sort());
    expect([...rows].filter(([, docs]) => docs.length !== 1).map(([name]) => name)).toEqual([]);
  });

  it('has a row for every variable', () => {
    expect(CONFIG_VARIABLES.filter((name) => !written.includes(`| \`${name}\``))).toEqual([]);
  });
});
