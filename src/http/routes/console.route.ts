/**
 * The operator console at `/admin`: one page that shows the sign-in form until the admin token has
 * been given, then the console itself, which reads and acts through the admin API (`/api`) with the
 * session cookie. The page holds no data: everything it shows comes from `/api` calls that answer
 * 401 without a session.
 *
 * Sign-in is a plain HTML form posted to `/admin/login`, so the token travels in a POST body, never
 * in a URL (where logs, history and Referer headers would keep it).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { UiFile } from '../admin-ui-files.js';
import type { AdminSessions } from '../plugins/admin-session.js';
import { createSecretMatcher } from '../plugins/webhook-auth.js';
import { SignInThrottle } from '../sign-in-throttle.js';

export interface ConsoleRouteOptions {
  adminToken: string | undefined;
  sessions: AdminSessions;
  files: ReadonlyMap<string, UiFile>;
}

/**
 * Same origin only; no inline script or style, so a string that slipped into the page as markup
 * still could not run. `form-action` keeps the sign-in form posting here.
 */
const PAGE_POLICY = [
  "default-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': PAGE_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Where the sign-in page shows why the last attempt failed (a fixed text: nothing user-given). */
const ERROR_MARKER = '<!-- sign-in-error -->';
const WRONG_TOKEN = '<p class="notice notice-error" role="alert">That token is not right. Use the ADMIN_TOKEN this Switchboard was started with.</p>';
const TOO_MANY = '<p class="notice notice-error" role="alert">Too many wrong tokens from your address. Try again in a few minutes.</p>';
/** Wrong tokens one address may try per window before it must wait for the window's end. */
const SIGN_IN_MAX_FAILURES = 10;
const SIGN_IN_WINDOW_MS = 5 * 60_000;

const LoginBody = Type.Object({ token: Type.String({ maxLength: 1024 }) }, { additionalProperties: false });
const AssetParams = Type.Object({ file: Type.String({ pattern: '^[a-z0-9-]+\\.(js|css|svg)$' }) });

export const consoleRoutes: FastifyPluginAsyncTypebox<ConsoleRouteOptions> = async (app, { adminToken, sessions, files }) => {
  const isAdminToken = createSecretMatcher(adminToken);
  const page = (name: string): string => {
    const file = files.get(name);
    if (!file) throw new Error(`The operator console file ${name} is missing`);
    return file.body.toString('utf8');
  };
  const consolePage = page('index.html');
  const signInPage = page('sign-in.html');
  const signInPageWithError = signInPage.replace(ERROR_MARKER, WRONG_TOKEN);
  const signInPageThrottled = signInPage.replace(ERROR_MARKER, TOO_MANY);
  const throttle = new SignInThrottle({ maxFailures: SIGN_IN_MAX_FAILURES, windowMs: SIGN_IN_WINDOW_MS });

  // The sign-in form posts as a browser form does; only this plugin's routes accept that type.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  const sendPage = (reply: FastifyReply, html: string, status = 200) => reply.code(status).headers(PAGE_HEADERS).send(html);

  app.get('/admin', async (request, reply) => sendPage(reply, sessions.isSignedIn(request) ? consolePage : signInPage));
  app.get('/admin/', async (_request, reply) => reply.redirect('/admin'));

  app.get('/admin/assets/:file', { schema: { params: AssetParams } }, async (request, reply) => {
    const file = files.get(request.params.file);
    if (!file) return reply.code(404).send({ error: 'not_found', message: 'No such file' });
    // Revalidated on every load: a new release's script never meets an old page.
    return reply.headers({ 'content-type': file.contentType, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' }).send(file.body);
  });

  app.post('/admin/login', { schema: { body: LoginBody } }, async (request, reply) => {
    const waitMs = throttle.retryAfterMs(request.ip);
    if (waitMs > 0) {
      request.log.warn({ ip: request.ip }, 'Console sign-in refused: too many wrong tokens');
      return sendPage(reply.header('retry-after', String(Math.ceil(waitMs / 1000))), signInPageThrottled, 429);
    }
    if (!isAdminToken(request.body.token.trim())) {
      throttle.recordFailure(request.ip);
      request.log.warn({ ip: request.ip }, 'Console sign-in refused: wrong token');
      return sendPage(reply, signInPageWithError, 401);
    }
    throttle.recordSuccess(request.ip);
    request.log.info({ ip: request.ip }, 'Console sign-in');
    // 303: the browser follows with a GET, so reloading the console never re-posts the token.
    return reply.header('set-cookie', sessions.signInCookie(sessions.issue(), request)).redirect('/admin', 303);
  });

  app.post('/admin/logout', async (request, reply) => reply.header('set-cookie', sessions.signOutCookie(request)).redirect('/admin', 303));
};
