import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { lstatSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * Node/Deno file adapter: what a reader may open inside an input root (a corpus directory, a pipeline source, a
 * prepared dataset). A symbolic link is followed only when its target, resolved with realpath, lies inside the root's
 * own real path; a link that leads out (to /etc/passwd, to another user's files) is refused before anything is read,
 * and so is a link loop or a link to nothing. The check compares resolved paths, not names, so `a/../../x` and a
 * chain of links are caught alike.
 */

/** Why a path inside an input root cannot be read. */
export interface RootRefusal {
  code: 'link_outside_root' | 'link_loop' | 'dangling_link' | 'not_a_file' | 'unreadable';
  message: string;
}

/** One readable file under a root, or a refusal naming the path as it appears under the root. */
export type RootEntry = { file: string; real: string; root: string } | { refused: string; refusal: RootRefusal };

export function isInside(root: string, path: string): boolean {
  const r = relative(root, path);
  return r === '' || (!r.startsWith('..' + sep) && r !== '..' && !isAbsolute(r));
}

/** The refusal a failed realpath/stat of a link means: a loop, a missing target, or an unreadable one. */
export function linkRefusal(err: unknown): RootRefusal {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return { code: 'link_loop', message: 'symbolic link loop (the link leads back to itself); refused' };
  if (code === 'ENOENT' || code === 'ENOTDIR') return { code: 'dangling_link', message: 'symbolic link to nothing (its target does not exist); refused' };
  return { code: 'unreadable', message: `unreadable: ${(err as Error).message}` };
}

const OUTSIDE: RootRefusal = { code: 'link_outside_root', message: 'symbolic link that resolves outside the input directory; refused, not read' };
/** A FIFO or a device named like a text file would block a reader forever or never end. */
const NOT_A_FILE: RootRefusal = { code: 'not_a_file', message: 'not a regular file (a FIFO, socket or device); refused, not read' };

/** The real path of an input root itself (a path the user named), with a clear error when it cannot be opened. */
export async function realRoot(path: string, what: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new Error(`${what} ${path} is a symbolic link loop`);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const isLink = await lstat(path).then((s) => s.isSymbolicLink(), () => false);
      throw new Error(isLink ? `${what} ${path} is a symbolic link to nothing (its target does not exist)` : `${what} ${path} does not exist`);
    }
    throw new Error(`cannot open ${what} ${path}: ${(err as Error).message}`);
  }
}

/**
 * The files under `path` (the root itself when it is a file; else recursively, sorted by name) whose names end in
 * one of `extensions`, and every link under it that is refused. Hidden files and folders (a leading dot) are skipped:
 * the pipeline's own work folder may sit inside an input folder. A directory reached twice through links is listed
 * once.
 */
export async function* rootFiles(path: string, extensions: readonly string[], what = 'input path'): AsyncGenerator<RootEntry> {
  const root = await realRoot(path, what);
  const info = await stat(root);
  if (!info.isDirectory()) {
    if (!info.isFile()) throw new Error(`${what} ${path} is not a regular file or a directory`);
    yield { file: path, real: root, root };
    return;
  }
  const seen = new Set<string>([root]);
  async function* walk(dir: string, realDir: string): AsyncGenerator<RootEntry> {
    const entries = (await readdir(realDir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const shown = join(dir, entry.name);
      let real = join(realDir, entry.name);
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        if (!extensions.some((e) => entry.name.endsWith(e))) {
          // A link not named like an input file matters only if it leads to a folder (whose files would be read).
          const target = await stat(real).catch(() => null);
          if (!target?.isDirectory()) continue;
        }
        try {
          real = await realpath(real);
        } catch (err) {
          yield { refused: shown, refusal: linkRefusal(err) };
          continue;
        }
        if (!isInside(root, real)) {
          yield { refused: shown, refusal: OUTSIDE };
          continue;
        }
        const target = await stat(real);
        isDirectory = target.isDirectory();
        isFile = target.isFile();
      }
      if (isDirectory) {
        if (seen.has(real)) continue;
        seen.add(real);
        yield* walk(shown, real);
      } else if (extensions.some((e) => entry.name.endsWith(e))) yield isFile ? { file: shown, real, root } : { refused: shown, refusal: NOT_A_FILE };
    }
  }
  yield* walk(path, root);
}

/**
 * Check, just before opening, that a file listed under a root still resolves inside it (it may have been swapped for
 * a link since it was listed). Returns the real path to open, or the refusal.
 */
export async function stillInside(rootReal: string, real: string): Promise<{ real: string } | { refusal: RootRefusal }> {
  let now: string;
  try {
    now = await realpath(real);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { refusal: { code: 'unreadable', message: 'the file was removed after the directory was listed; skipped' } };
    return { refusal: linkRefusal(err) };
  }
  if (!isInside(rootReal, now)) return { refusal: OUTSIDE };
  return (await stat(now)).isFile() ? { real: now } : { refusal: NOT_A_FILE };
}

/**
 * A name an index file gives for a file of its directory (a prepared dataset's shards and tokenizer): it must be a
 * relative path that stays inside the directory, and if it is (or passes through) a symbolic link, the link must
 * resolve inside too. Throws an error naming the field, the name and the reason.
 */
export function insideDirectory(dir: string, name: unknown, field: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new Error(`${field}: expected a file name inside ${dir}, got ${JSON.stringify(name)}`);
  const path = resolve(dir, name);
  if (isAbsolute(name) || !isInside(resolve(dir), path))
    throw new Error(`${field}: ${JSON.stringify(name)} is outside the dataset directory ${dir}; index names must stay inside it`);
  let realDir: string;
  try {
    realDir = realpathSync(dir);
  } catch {
    return path;
  }
  try {
    lstatSync(path);
  } catch {
    return path; // missing: the reader reports "does not exist" when it opens it
  }
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    throw new Error(`${field}: ${JSON.stringify(name)} in ${dir} is a ${linkRefusal(err).message.replace(/; refused$/, '')}`);
  }
  if (!isInside(realDir, real)) throw new Error(`${field}: ${JSON.stringify(name)} in ${dir} is a symbolic link that resolves outside the dataset directory; refused`);
  return path;
}
