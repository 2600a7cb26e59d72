import type BetterSqlite3 from 'better-sqlite3';
import { type DatabaseSyncConstructor, wrapDatabaseSync } from '../database-sync.ts';
import { SqliteUnavailableError, type SqlDatabase } from '../sql.ts';

/** How each SQLite driver Node may have is loaded (injected by tests, which cannot uninstall one). */
export interface SqliteDriverImports {
  /** better-sqlite3 (native; v12, since v13 crashes Node 20): an optional dependency, so it may be absent or unbuilt. */
  betterSqlite3(): Promise<typeof BetterSqlite3>;
  /** `node:sqlite`, built into Node 22.13+ and 23.4+ (earlier 22 and 23 releases have it behind --experimental-sqlite); absent on Node 20. */
  nodeSqlite(): Promise<{ DatabaseSync: DatabaseSyncConstructor }>;
}

export const NODE_SQLITE_IMPORTS: SqliteDriverImports = {
  betterSqlite3: async () => (await import('better-sqlite3')).default,
  nodeSqlite: () => import('node:sqlite' as string) as Promise<{ DatabaseSync: DatabaseSyncConstructor }>,
};

export interface SqliteDriver {
  name: 'better-sqlite3' | 'node:sqlite';
  open(path: string): SqlDatabase;
}

/**
 * The SQLite driver the job store opens its file with on Node: better-sqlite3 when it is installed and its native
 * binary loads (an in-memory database is opened to find out, since the binary loads only then), else the runtime's
 * own `node:sqlite`, else a SqliteUnavailableError saying what to install. A packed `unilab` installed with
 * --omit=optional on Node 20 has neither; every command but `serve` (and `worker`) works without them.
 */
export async function loadSqliteDriver(imports: SqliteDriverImports = NODE_SQLITE_IMPORTS): Promise<SqliteDriver> {
  let betterProblem: string;
  try {
    const Database = await imports.betterSqlite3();
    new Database(':memory:').close();
    return { name: 'better-sqlite3', open: (path) => wrapBetterSqlite3(new Database(path)) };
  } catch (err) {
    betterProblem = firstLine(err);
  }
  try {
    const { DatabaseSync } = await imports.nodeSqlite();
    return { name: 'node:sqlite', open: (path) => wrapDatabaseSync(new DatabaseSync(path)) };
  } catch (err) {
    throw new SqliteUnavailableError(
      `the job store needs SQLite, and this Node (${process.version}) has no driver for it: better-sqlite3 did not load ` +
        `(${betterProblem}) and node:sqlite is not built in (${firstLine(err)}; it is in Node 22.13+ and 23.4+). ` +
        'Install better-sqlite3 version 12 where unilab finds it (`npm i -g better-sqlite3@12` beside a global unilab, ' +
        '`npm i better-sqlite3@12` in the project that has it; it compiles from source with python3, make and a C++ ' +
        'compiler where its prebuilt binary cannot be downloaded), or run unilab on Node 22.13+ or 23.4+',
    );
  }
}

function wrapBetterSqlite3(db: BetterSqlite3.Database): SqlDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>();
  const prepared = (sql: string) => {
    let s = statements.get(sql);
    if (!s) statements.set(sql, (s = db.prepare(sql)));
    return s;
  };
  return {
    exec: (sql) => void db.exec(sql),
    run: (sql, params = []) => ({ changes: prepared(sql).run(...params).changes }),
    get: <T>(sql: string, params: readonly unknown[] = []) => prepared(sql).get(...params) as T | undefined,
    all: <T>(sql: string, params: readonly unknown[] = []) => prepared(sql).all(...params) as T[],
    close: () => db.close(),
  };
}

const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0];
