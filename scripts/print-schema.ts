// Writes schema.graphql from the Pothos schema: `npm run schema`.
import { writeFileSync } from 'node:fs';
import { printChatSchema } from '../src/schema/index.js';

writeFileSync(new URL('../schema.graphql', import.meta.url), `${printChatSchema()}\n`);
console.log('wrote schema.graphql');
