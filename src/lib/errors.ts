/**
 * Errors with stable codes. HTTP maps `status` and `code` straight to the answer; the message is shown
 * to callers only below 500, so internal details never leak.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (message: string) => new AppError('bad_request', 400, message);
export const unauthorized = () => new AppError('unauthorized', 401, 'Missing or invalid credentials');
export const notFound = (what: string) => new AppError('not_found', 404, `${what} not found`);
export const unknownTenant = () => new AppError('unknown_tenant', 404, 'Unknown tenant');
export const conflict = (message: string) => new AppError('conflict', 409, message);
export const queueUnavailable = (retryAfterSeconds = 1) =>
  new AppError('service_unavailable', 503, 'Job queue temporarily unavailable', {
    'retry-after': String(retryAfterSeconds),
  });

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
