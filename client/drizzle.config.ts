import { defineConfig } from 'drizzle-kit';

// The client's state DB has its own schema and migrations, separate from the server's catalog.
export default defineConfig({
  dialect: 'sqlite',
  schema: './client/state-schema.ts',
  out: './client/migrations',
});
