import type { SqlDatabase, SqlValue } from './sql.ts';

/**
 * The shape of `node:sqlite`'s DatabaseSync (built into Deno 2.9, Node 22.13+ and 23.4+), declared here because the
 * project type-checks against Node 20's types, which have no `node:sqlite`.
 */
export interface DatabaseSync {
  exec(sql: string): void;
  prepare(sql: string): {
    run(...params: SqlValue[]): { changes: number | bigint };
    get(...params: SqlValue[]): unknown;
    all(...params: SqlValue[]): unknown[];
  };
  close(): void;
}

export type DatabaseSyncConstructor = new (path: string) => DatabaseSync;

/** A `node:sqlite` database as the store's SqlDatabase, each statement prepared once. */
export function wrapDatabaseSync(db: DatabaseSync): SqlDatabase {
  const statements = new Map<string, ReturnType<DatabaseSync['prepare']>>();
  const prepared = (sql: string) => {
    let s = statements.get(sql);
    if (!s) statements.set(sql, (s = db.prepare(sql)));
    return s;
  };
  return {
    exec: (sql) => db.exec(sql),
    run: (sql, params = []) => ({ changes: Number(prepared(sql).run(...params).changes) }),
    get: <T>(sql: string, params: readonly SqlValue[] = []) => prepared(sql).get(...params) as T | undefined,
    all: <T>(sql: string, params: readonly SqlValue[] = []) => prepared(sql).all(...params) as T[],
    close: () => db.close(),
  };
}
