import { defineConfig } from 'drizzle-kit';

// Generation only: it diffs the schema against ./drizzle and needs no database.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/infra/db/schema.ts',
  out: './drizzle',
});
