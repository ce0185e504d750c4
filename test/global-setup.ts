/**
 * Runs once before all test files: builds a migrated template database that each test file clones
 * (`CREATE DATABASE … TEMPLATE …` takes milliseconds), named per run so that concurrent runs on one
 * machine never drop each other's template; dropped again at the end.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { ADMIN_DATABASE_URL, databaseUrl } from './support/database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const template = `switchboard_test_template_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${template}`);
  const handle = await openDatabase({ url: databaseUrl(template), dataDir: '', poolSize: 1 });
  await migrate(handle.db);
  await handle.close();
  project.provide('templateDatabase', template);
  return async () => {
    await admin(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
  };
}
