/**
 * One error handler for every route: an `AppError` answers with its code and status; Fastify's own
 * body errors map to DESIGN.md's codes; anything else is a 500 whose details stay in the log.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError } from '../../lib/errors.js';

/** Codes whose body is just `{"error": code}`, as the webhook contract specifies. */
const BARE_CODES = new Set(['unauthorized', 'unknown_tenant', 'payload_too_large', 'unsupported_media_type']);

const FASTIFY_CODES: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'bad_request' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'bad_request' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'bad_request' },
};

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    if (error instanceof AppError) {
      void reply
        .code(error.status)
        .headers(error.headers)
        .send(BARE_CODES.has(error.code) ? { error: error.code } : { error: error.code, message: error.message });
      return;
    }
    const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (mapped) {
      void reply.code(mapped.status).send(BARE_CODES.has(mapped.code) ? { error: mapped.code } : { error: mapped.code, message: error.message });
      return;
    }
    if (error.validation) {
      void reply.code(400).send({ error: 'bad_request', message: error.message });
      return;
    }
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status < 500) {
      void reply.code(status).send({ error: 'bad_request', message: error.message });
      return;
    }
    request.log.error({ err: error }, 'Request failed');
    void reply.code(500).send({ error: 'internal_error', message: 'Internal error' });
  });
  app.setNotFoundHandler((_request, reply) => {
    void reply.code(404).send({ error: 'not_found', message: 'No such route' });
  });
}
