/**
 * Who may call the admin API: `Authorization: Bearer <ADMIN_TOKEN>` (scripts, compared in constant
 * time), or the operator console's session cookie (admin-session.ts). The console needs the cookie:
 * its page calls this API with fetch, and `EventSource` (the live broadcast bars) cannot send a header.
 *
 * A cookie travels with every request the browser makes to us, including ones another site's page
 * triggers (CSRF). SameSite=Strict already keeps it off cross-site requests; as a second, independent
 * line, a cookie-authenticated request that changes something must also carry
 * `X-Switchboard-Console: 1`. A page elsewhere cannot add that header: a cross-origin request with a
 * custom header needs a CORS preflight, which this server never grants, and an HTML form cannot set
 * headers. Bearer callers are not affected (a Bearer token is never sent by the browser on its own).
 */
import type { FastifyRequest } from 'fastify';
import { AppError, unauthorized } from '../../lib/errors.js';
import type { AdminSessions } from './admin-session.js';
import { createSecretMatcher } from './webhook-auth.js';

export const CONSOLE_HEADER = 'x-switchboard-console';

const READ_ONLY_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

const missingConsoleHeader = () =>
  new AppError('forbidden', 403, 'A change made with the console sign-in must carry the header X-Switchboard-Console: 1');

export function createAdminGuard(adminToken: string | undefined, sessions?: AdminSessions) {
  const isAdminToken = createSecretMatcher(adminToken);
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    if (token && isAdminToken(token)) return;
    if (!sessions?.isSignedIn(request)) throw unauthorized();
    if (!READ_ONLY_METHODS.has(request.method) && request.headers[CONSOLE_HEADER] !== '1') throw missingConsoleHeader();
  };
}
