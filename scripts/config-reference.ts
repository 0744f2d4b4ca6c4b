/**
 * docs/configuration.md, written from the variables' declarations in
 * src/config/: the name, default and section from the declaration itself, the
 * meaning from its doc comment (`@default` when the default is no literal).
 * `npm run docs:config` writes it; test/unit/config-reference.test.ts fails
 * when the file is stale.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { DECLARED_VARIABLES } from '../src/config.js';
import type { Variable } from '../src/config/declare.js';
import { PREAMBLE, SECTIONS, type Section, type SectionId } from '../src/config/sections.js';

const SOURCES = new URL('../src/config/', import.meta.url);

interface Row {
  meaning: string;
  shownDefault?: string;
}

// A doc comment, then (before any other doc comment, within three lines) the declaring call and its name.
const DECLARATION = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/((?:(?![^\n]*\/\*\*)[^\n]*\n){1,3}?)(?![^\n]*\/\*\*)[^\n]*?\b(?:withDefault|optional)\(\s*'(\w+)'/g;

/** Each declared variable's row text, by name, read from the doc comments of src/config/*-variables.ts. */
export function declaredRows(): Map<string, Row[]> {
  const rows = new Map<string, Row[]>();
  for (const file of readdirSync(SOURCES).filter((name) => name.endsWith('-variables.ts'))) {
    for (const match of readFileSync(new URL(file, SOURCES), 'utf8').matchAll(DECLARATION)) {
      const text = match[1]!
        .split('\n')
        .map((line) => line.replace(/^\s*\*?\s?/, '').trim())
        .filter((line) => line !== '')
        .join(' ');
      const [meaning, shownDefault] = text.split(/\s*@default\s+/);
      const name = match[3]!;
      rows.set(name, [...(rows.get(name) ?? []), { meaning: meaning!, ...(shownDefault === undefined ? {} : { shownDefault }) }]);
    }
  }
  return rows;
}

function literalDefault(variable: Variable<unknown>): string {
  if (variable.fallback === undefined) return '—';
  return variable.fallback === '' ? 'empty' : `\`${variable.fallback}\``;
}

/** A Markdown table, its columns padded. */
function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(3, ...rows.map((row) => [...row[column]!].length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, i) => cell + ' '.repeat(widths[i]! - [...cell].length)).join(' | ')} |`;
  const [head, ...body] = rows;
  return [line(head!), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

function renderSection(section: Section, variables: readonly Variable<unknown>[], docs: Map<string, Row[]>): string[] {
  const rows = variables.map((v) => {
    const row = docs.get(v.name)?.[0];
    if (!row) throw new Error(`${v.name} has no doc comment in src/config/`);
    return [`\`${v.name}\``, row.shownDefault ?? literalDefault(v), row.meaning];
  });
  const parts = [
    section.heading && `## ${section.heading}`,
    section.before,
    rows.length > 0 ? table([['variable', 'default', 'meaning'], ...rows]) : '',
    section.after,
  ];
  return parts.filter((part): part is string => Boolean(part));
}

export function configurationReference(variables: readonly Variable<unknown>[] = DECLARED_VARIABLES): string {
  const docs = declaredRows();
  const blocks = [PREAMBLE];
  for (const [id, section] of Object.entries(SECTIONS) as [SectionId, Section][]) {
    blocks.push(
      ...renderSection(
        section,
        variables.filter((v) => v.section === id),
        docs,
      ),
    );
  }
  return `${blocks.join('\n\n')}\n`;
}
