import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { DatabaseSyncConstructor } from '../src/database-sync.ts';
import { loadSqliteDriver, NODE_SQLITE_IMPORTS } from '../src/node/sqlite-driver.ts';
import { SqliteUnavailableError } from '../src/sql.ts';

// Node's job store opens its file with better-sqlite3, else node:sqlite, else refuses with what to install. The
// repository has better-sqlite3 and Node 20 has no node:sqlite, so the other cases inject the imports.
const notInstalled = () => Promise.reject(new Error("Cannot find package 'better-sqlite3' imported from /x/dist/runtime.js"));
const noNodeSqlite = () => Promise.reject(new Error('No such built-in module: node:sqlite'));

const roundTrip = (driver: Awaited<ReturnType<typeof loadSqliteDriver>>) => {
  const db = driver.open(':memory:');
  db.exec('CREATE TABLE t (k TEXT, v INTEGER)');
  expect(db.run('INSERT INTO t VALUES (?, ?), (?, ?)', ['a', 1, 'b', 2])).toEqual({ changes: 2 });
  expect(db.get('SELECT v FROM t WHERE k = ?', ['b'])).toEqual({ v: 2 });
  expect(db.all('SELECT k FROM t ORDER BY k')).toEqual([{ k: 'a' }, { k: 'b' }]);
  db.close();
};

describe("the Node job store's SQLite driver", () => {
  it('is better-sqlite3 where it is installed and its binary loads', async () => {
    const driver = await loadSqliteDriver();
    expect(driver.name).toBe('better-sqlite3');
    roundTrip(driver);
  });

  it('falls back to node:sqlite when better-sqlite3 is missing or its native binary does not load', async () => {
    // better-sqlite3's Database has node:sqlite's DatabaseSync shape (exec, prepare().run/get/all, close): it stands
    // in for the built-in Node 20 lacks, so the fallback's wrapper runs for real.
    const nodeSqlite = async () => ({ DatabaseSync: Database as unknown as DatabaseSyncConstructor });
    const missing = await loadSqliteDriver({ betterSqlite3: notInstalled, nodeSqlite });
    expect(missing.name).toBe('node:sqlite');
    roundTrip(missing);
    // Installed with --ignore-scripts, or built for another Node: the module loads, its binary only on first open.
    const unbuilt = class {
      constructor() {
        throw new Error('Could not locate the bindings file. Tried:\n → /x/build/better_sqlite3.node');
      }
    } as unknown as typeof Database;
    expect((await loadSqliteDriver({ betterSqlite3: async () => unbuilt, nodeSqlite })).name).toBe('node:sqlite');
  });

  it('refuses with one message naming both problems and what to install when there is neither', async () => {
    const nodeSqlite = (await NODE_SQLITE_IMPORTS.nodeSqlite().then(() => true, () => false)) ? noNodeSqlite : NODE_SQLITE_IMPORTS.nodeSqlite;
    const refusal = await loadSqliteDriver({ betterSqlite3: notInstalled, nodeSqlite }).catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(SqliteUnavailableError);
    const message = (refusal as Error).message;
    expect(message).toContain("better-sqlite3 did not load (Cannot find package 'better-sqlite3' imported from /x/dist/runtime.js)");
    expect(message).toMatch(/node:sqlite is not built in \(.*node:sqlite.*; it is in Node 22\.13\+ and 23\.4\+\)/);
    expect(message).toContain('`npm i -g better-sqlite3@12` beside a global unilab');
    expect(message).not.toContain('\n');
  });
});
