/**
 * The README's Quickstart: with no configuration, Switchboard starts on its embedded defaults (PGlite,
 * the local Redis, generated secrets, a demo tenant) and prints a curl that works. The test sets only
 * what isolates it from other runs: a private data directory and a free port (the queues then get
 * the installation's own prefix, as they would for a user).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.js';
import { freePort } from './support/private-redis.js';
import { SwitchboardProcess } from './support/processes.js';
import { deletePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

const dataDir = mkdtempSync(join(tmpdir(), 'sb-embedded-'));

afterAll(async () => {
  const secrets = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as { installationId: string };
  await deletePrefix(`{switchboard-${secrets.installationId}}`);
  rmSync(dataDir, { recursive: true, force: true });
});

/** Pulls the URL, headers and body out of the printed `curl` command. */
function parseCurl(output: string): { url: string; headers: Record<string, string>; body: string } {
  const command = output.slice(output.indexOf('curl '), output.indexOf("}'", output.indexOf('curl ')) + 2);
  const url = /POST (\S+)/.exec(command)?.[1];
  const headers = Object.fromEntries([...command.matchAll(/-H '([^:]+): ([^']+)'/g)].map((m) => [m[1]?.toLowerCase() ?? '', m[2] ?? '']));
  const body = /-d '(.+)'$/s.exec(command)?.[1];
  if (!url || !body) throw new Error(`No curl found in:\n${output}`);
  return { url, headers, body };
}

describe('npm start with no configuration', () => {
  it('serves the printed curl with 200 and stores the message', async () => {
    const port = await freePort();
    const proc = SwitchboardProcess.spawn({ DATA_DIR: dataDir, PORT: String(port) });
    try {
      await proc.waitForLog('API listening');
      const bannerText = () => proc.lines.filter((l) => l['raw'] === true).map((l) => l.msg).join('\n');
      const banner = await waitFor(() => (bannerText().includes("}'") ? bannerText() : undefined), { what: 'the printed curl' });
      const curl = parseCurl(banner);
      expect(curl.url).toBe(`http://127.0.0.1:${port}/webhook/whatsapp/incoming`);

      const response = await fetch(curl.url, { method: 'POST', headers: curl.headers, body: curl.body });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok', enqueued: 1, duplicates: 0, ignored: 0 });
      await proc.waitForLog('Message stored');
      // The reply job runs on the embedded database too (the sample message is too old to answer).
      await proc.waitForLog('Job finished', (l) => l['job'] === 'reply_generate');
      expect(proc.hasLog('Job failed')).toBe(false);
      expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
    } finally {
      expect(await proc.kill('SIGTERM')).toBe(0);
    }

    // The secrets were generated once and kept, owner-only.
    expect(statSync(join(dataDir, 'secrets.json')).mode & 0o077).toBe(0);
    // The message is in the embedded database, which the stopped process released.
    const database = await openDatabase({ url: undefined, dataDir, poolSize: 1 });
    try {
      const rows = await database.db.selectFrom('messages').select(['tenant_id', 'kind', 'text', 'reply_state', 'reply_note']).execute();
      expect(rows).toEqual([
        { tenant_id: 'demo', kind: 'text', text: 'Hi, is the appointment tomorrow still on?', reply_state: 'skipped', reply_note: 'too_old' },
      ]);
    } finally {
      await database.close();
    }
  });

  it('a second start reuses the generated secrets', async () => {
    const port = await freePort();
    const proc = SwitchboardProcess.spawn({ DATA_DIR: dataDir, PORT: String(port) });
    try {
      await proc.waitForLog('API listening');
      const secret = () => proc.lines.find((l) => typeof l.msg === 'string' && l.msg.includes('INTERNAL_SECRET'))?.msg;
      const printed = await waitFor(secret, { what: 'the banner' });
      const stored = (JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as { internalSecret: string }).internalSecret;
      expect(printed).toContain(stored);
    } finally {
      await proc.kill('SIGTERM');
    }
  });
});
