/**
 * The operator console's static files (src/admin-ui/: plain HTML, CSS and browser JavaScript, no build
 * step). They are found next to this module: `src/admin-ui` when running from source, `dist/admin-ui`
 * after `npm run build`, which copies them there. All are read once at start and served from memory,
 * by exact file name only, so no request path ever reaches the file system.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ADMIN_UI_DIR = fileURLToPath(new URL('../admin-ui/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface UiFile {
  body: Buffer;
  contentType: string;
}

export async function loadAdminUiFiles(dir = ADMIN_UI_DIR): Promise<Map<string, UiFile>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    // A build that forgot to copy them would otherwise serve a console that never loads.
    throw new Error(`The operator console's files are missing from ${dir} (npm run build copies them)`, { cause: error });
  }
  const files = new Map<string, UiFile>();
  for (const name of names) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType) files.set(name, { body: await readFile(join(dir, name)), contentType });
  }
  return files;
}
