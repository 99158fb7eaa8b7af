#!/usr/bin/env node
// Writes config/schema.json from the TypeBox schema in src/config/schema.ts (built to dist/).
import { writeFileSync } from 'node:fs';
import { ConfigSchema } from '../dist/src/config/schema.js';
const doc = { $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'exolinuxd configuration', ...ConfigSchema };
writeFileSync(new URL('../config/schema.json', import.meta.url), JSON.stringify(doc, null, 2) + '\n');
console.log('wrote config/schema.json');
