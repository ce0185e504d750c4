/**
 * Role `all` with no configuration: the gateway secret, the admin token and an installation id are
 * generated once and kept in DATA_DIR/secrets.json (readable by the owner only), so restarts keep
 * working with the same curl.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface EmbeddedSecrets {
  internalSecret: string;
  adminToken: string;
  /** Names this installation's queues in a shared Redis, so they live and die with its database. */
  installationId: string;
}

export function loadOrCreateSecrets(dataDir: string): EmbeddedSecrets {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'secrets.json');
  if (existsSync(file)) {
    const stored: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (isSecrets(stored)) return stored;
  }
  const secrets = {
    internalSecret: randomBytes(24).toString('hex'),
    adminToken: randomBytes(24).toString('hex'),
    installationId: randomBytes(6).toString('hex'),
  };
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

function isSecrets(value: unknown): value is EmbeddedSecrets {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record['internalSecret'] === 'string' &&
    typeof record['adminToken'] === 'string' &&
    typeof record['installationId'] === 'string' &&
    /^[a-f0-9]{12}$/.test(record['installationId'])
  );
}
