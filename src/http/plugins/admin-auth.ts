/** `Authorization: Bearer <ADMIN_TOKEN>` for the admin API, compared in constant time. */
import type { FastifyRequest } from 'fastify';
import { unauthorized } from '../../lib/errors.js';
import { createSecretMatcher } from './webhook-auth.js';

export function createAdminGuard(adminToken: string | undefined) {
  const isAdminToken = createSecretMatcher(adminToken);
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    if (!token || !isAdminToken(token)) throw unauthorized();
  };
}
