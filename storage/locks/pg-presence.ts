import pg from 'pg';

/**
 * Which servers use a shared PostgreSQL catalog, so that `admin fsck --repair` can refuse while
 * any runs (as server.pid does for one data dir). Every server holds one session advisory lock
 * in shared mode for its whole life; fsck --repair takes it exclusively, so a server starting
 * meanwhile waits until the repair is done. A connection that dies releases its lock: a crashed
 * server never blocks a repair.
 */

/** The advisory lock key ("cbsv"): an int8 key, apart from the hashed keys of the catalog and locks. */
const SERVING_KEY = 0x63627376;

export interface ServingLock {
  close(): Promise<void>;
}

/**
 * Holds the shared lock for as long as this server runs. Waits (saying so) while an fsck --repair
 * holds it exclusively. A lost connection is logged and the lock taken again on a new one.
 */
export async function holdServingLock(url: string, log: (line: string) => void): Promise<ServingLock> {
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  // Until it holds the lock again, every 5 s (unref'd: it never keeps a stopping process alive).
  const again = (): void => {
    if (closed) return;
    retry = setTimeout(() => void connect().catch(again), 5_000);
    retry.unref();
  };
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
    c.on('error', (err) => {
      if (closed) return;
      log(`postgres (serving lock): lost its connection (${err.message}); taking the lock again`);
      client = undefined;
      c.end().catch(() => {});
      again();
    });
    await c.connect().catch(async (err: unknown) => {
      await c.end().catch(() => {});
      throw err;
    });
    // Known before the lock is granted: close() must end a connection still waiting for it.
    client = c;
    const got = await c.query<{ ok: boolean }>('select pg_try_advisory_lock_shared($1) as ok', [SERVING_KEY]);
    if (!got.rows[0]?.ok) {
      log('postgres: waiting for admin fsck --repair to finish with the catalog');
      await c.query('select pg_advisory_lock_shared($1)', [SERVING_KEY]);
    }
  };
  await connect();
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      await client?.end().catch(() => {});
    },
  };
}

/** How many server processes hold the serving lock on this database right now. */
export async function servingCount(client: pg.ClientBase): Promise<number> {
  const r = await client.query<{ n: string }>(
    `select count(distinct pid) as n from pg_locks
     where locktype = 'advisory' and granted and mode = 'ShareLock' and classid = 0 and objid = $1 and objsubid = 1
       and database = (select oid from pg_database where datname = current_database())`,
    [SERVING_KEY],
  );
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * For fsck: with `exclusive`, tries to take the serving lock exclusively (`held`; release it when
 * done). Either way says how many servers hold it (a check only counts: it may run beside them).
 */
export async function claimForRepair(url: string, exclusive: boolean): Promise<{ held: boolean; servers: number; release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    if (exclusive) {
      const got = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [SERVING_KEY]);
      if (got.rows[0]?.ok) return { held: true, servers: 0, release: () => client.end() };
    }
    const servers = await servingCount(client);
    await client.end();
    return { held: false, servers, release: async () => {} };
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
}
