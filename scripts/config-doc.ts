/**
 * `npm run docs:config`: writes docs/configuration.md from the variables'
 * declarations in src/config/ (test/unit/config-reference.test.ts fails when
 * the file is stale).
 */
import { writeFileSync } from 'node:fs';
import { configurationReference } from './config-reference.js';

const file = new URL('../docs/configuration.md', import.meta.url);
writeFileSync(file, configurationReference());
process.stdout.write(`wrote ${file.pathname}\n`);
