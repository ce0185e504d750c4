/**
 * Runs once before all test files: builds a migrated template database that each test file clones
 * (`CREATE DATABASE … TEMPLATE …` takes milliseconds), and checks that the shared Redis answers.
 */
import pg from 'pg';
import { openDatabase } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { ADMIN_DATABASE_URL, TEMPLATE_DATABASE, databaseUrl } from './support/database.js';

export default async function setup(): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const handle = await openDatabase({ url: databaseUrl(TEMPLATE_DATABASE), dataDir: '', poolSize: 1 });
  await migrate(handle.db);
  await handle.close();
}
