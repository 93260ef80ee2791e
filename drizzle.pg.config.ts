import { defineConfig } from 'drizzle-kit';

/** The PostgreSQL catalog's schema and migrations: `npx drizzle-kit generate --config drizzle.pg.config.ts --name X`. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './drizzle/pg/schema.ts',
  out: './drizzle/pg/migrations',
});
