/**
 * The little of SQLite the store needs, so that one store runs on Node (better-sqlite3) and on Deno (node:sqlite):
 * each runtime adapter wraps its driver in this. Positional `?` parameters only; integers come back as numbers.
 */
export type SqlValue = string | number | null;

export interface SqlDatabase {
  exec(sql: string): void;
  run(sql: string, params?: readonly SqlValue[]): { changes: number };
  get<T>(sql: string, params?: readonly SqlValue[]): T | undefined;
  all<T>(sql: string, params?: readonly SqlValue[]): T[];
  close(): void;
}

/** This runtime has no SQLite driver: the message says what to install. Not a damaged store. */
export class SqliteUnavailableError extends Error {}

/** Run `body` in one transaction: all of its writes land, or none. */
export function transaction<T>(db: SqlDatabase, body: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = body();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
