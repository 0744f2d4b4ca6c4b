/** Reads of what the Runtime Manager knows: a game's record, the records page by page, a game's audit trail. */
import { Hono } from 'hono';
import { operationToJson, recordToJson } from '../../jobs/json.js';
import type { OperationLog, RuntimeRecordStore } from '../../domain/ports.js';
import type { Env } from '../env.js';
import { ANSWERS, fail, invalid } from '../answers.js';
import { gameIdParam, listQuery, operationsQuery } from '../schemas.js';

export interface RecordRouteDeps {
  records: RuntimeRecordStore;
  operations: OperationLog;
}

export function recordRoutes(deps: RecordRouteDeps): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/runtimes/:game_id', async (c) => {
    const gameId = gameIdParam.safeParse(c.req.param('game_id'));
    if (!gameId.success) return invalid(c, 'game_id', gameId.error);
    const record = await deps.records.get(gameId.data);
    if (!record) return fail(c, 'not_found', `no runtime record for game ${gameId.data}`);
    return c.json(recordToJson(record), ANSWERS.found.status);
  });

  app.get('/runtimes', async (c) => {
    const query = listQuery.safeParse(c.req.query());
    if (!query.success) return invalid(c, 'query', query.error);
    const page = await deps.records.list({
      limit: query.data.limit,
      cursor: query.data.cursor ?? null,
      ...(query.data.status ? { status: query.data.status } : {}),
    });
    return c.json({ records: page.records.map(recordToJson), next_cursor: page.nextCursor }, ANSWERS.found.status);
  });

  app.get('/runtimes/:game_id/operations', async (c) => {
    const gameId = gameIdParam.safeParse(c.req.param('game_id'));
    if (!gameId.success) return invalid(c, 'game_id', gameId.error);
    const query = operationsQuery.safeParse(c.req.query());
    if (!query.success) return invalid(c, 'query', query.error);
    const entries = await deps.operations.listByGame(gameId.data, query.data.limit);
    return c.json({ operations: entries.map(operationToJson) }, ANSWERS.found.status);
  });

  return app;
}
