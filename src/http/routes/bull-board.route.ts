/**
 * Bull Board at `/admin/queues`, behind the console's sign-in: without a session its page sends the
 * browser to the sign-in form and everything else under it answers 401. Read-only (see
 * src/queue/bull-board.ts): only GET and HEAD reach it, so it changes nothing whatever its UI offers,
 * and a cookie-borne cross-site request has nothing to trigger there.
 */
import type { BaseAdapter } from '@bull-board/api/baseAdapter';
import { createBullBoard } from '@bull-board/api';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyPluginAsync } from 'fastify';
import type { AdminSessions } from '../plugins/admin-session.js';

export const BULL_BOARD_PATH = '/admin/queues';

export interface BullBoardRouteOptions {
  sessions: AdminSessions;
  queues: BaseAdapter[];
}

export const bullBoardRoutes: FastifyPluginAsync<BullBoardRouteOptions> = async (app, { sessions, queues }) => {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues,
    serverAdapter,
    // No link to Bull Board's documentation site: an operator tool should not send people off-site.
    options: { uiConfig: { boardTitle: 'Switchboard queues', hideDocsLink: true, miscLinks: [{ text: 'Operator console', url: '/admin' }] } },
  });

  // Answered here, not thrown: Bull Board installs its own error handler, which would turn every
  // thrown error into a 500.
  app.addHook('onRequest', async (request, reply) => {
    if (!sessions.isSignedIn(request)) {
      const isPage = request.method === 'GET' && !request.url.startsWith(`${BULL_BOARD_PATH}/api/`) && !request.url.startsWith(`${BULL_BOARD_PATH}/static/`);
      if (isPage) return reply.redirect('/admin');
      return reply.code(401).send({ error: 'unauthorized' });
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return reply
        .code(405)
        .header('allow', 'GET, HEAD')
        .send({ error: 'method_not_allowed', message: 'Bull Board is read-only here: retry failed jobs from the operator console or the admin API' });
    }
  });

  await app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
};
