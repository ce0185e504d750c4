/**
 * Calls to the admin API with the console's session cookie. Requests that change something carry
 * X-Switchboard-Console: 1, which the server requires of cookie-signed changes (its CSRF guard).
 * A 401 means the sign-in expired or the admin token changed: reloading shows the sign-in form.
 */
/* global fetch, location */

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') headers['x-switchboard-console'] = '1';
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'Switchboard does not answer. Check that the API is running.');
  }
  if (response.status === 401) {
    location.reload();
    throw new ApiError(401, 'Signed out');
  }
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    const message = payload && typeof payload.message === 'string' ? payload.message : `Switchboard answered ${response.status}`;
    throw new ApiError(response.status, message);
  }
  return payload;
}

/** `path\`/api/tenants/${id}\``: every value is URL-encoded (job ids contain "|"). */
export function path(strings, ...values) {
  return strings.reduce((result, part, index) => result + part + (index < values.length ? encodeURIComponent(String(values[index])) : ''), '');
}
