/**
 * A fresh game's job, added by the order's admission script in the same
 * round trip that decides on it (enqueue.ts, order-admission.ts): one Redis
 * call where the decision, BullMQ's add and the mutex's release were three.
 *
 * BullMQ's own code builds the add: its Job turns the name, data and options
 * into the `addStandardJob` script's keys and arguments exactly as
 * `Queue.add` does, and that script's own text runs inside the admission's
 * (`STANDARD_ADD_LUA`). What is ours is only that nothing is sent: the
 * client handed to BullMQ records the command instead of running it. The
 * script's keys and arguments are BullMQ's internals, so BullMQ is pinned to
 * one exact version (package.json), and test/integration/prepared-add.test.ts
 * holds a prepared add to `Queue.add` field by field.
 */
import type { JobsOptions, Queue } from 'bullmq';
import { Job } from 'bullmq';
import { addStandardJob } from 'bullmq/dist/esm/scripts/addStandardJob-9.js';

/** BullMQ's `addStandardJob` script; it reads 9 keys and 3 arguments. */
export const STANDARD_ADD_LUA = addStandardJob.content;
export const STANDARD_ADD_KEYS = addStandardJob.keys;

/**
 * BullMQ's add of one job, not sent. `data`'s JSON ends with
 * `"orderSeq":0}`: the script that adds it writes the place it decided on
 * there (the job's data must carry its own place in the game's order).
 */
export interface PreparedAdd {
  keys: string[];
  /** msgpack'd arguments, the job's data JSON, msgpack'd options. */
  args: [Buffer | string, string, Buffer | string];
}

/** The placeholder the admission script replaces with the seq it decides on. */
export const ORDER_SEQ_PLACEHOLDER = '"orderSeq":0}';

interface CapturingClient {
  runCommand(name: string, args: Array<string | Buffer>): Promise<string>;
}

/** BullMQ's add of `data` (which must not carry `orderSeq`: it is appended last) as `Queue.add(name, data, opts)` would send it. */
export async function prepareStandardAdd(queue: Queue, name: string, data: object, opts: JobsOptions & { jobId: string }): Promise<PreparedAdd> {
  const job = new Job(queue, name, { ...data, orderSeq: 0 }, opts, opts.jobId);
  const json = job.asJSON();
  if (!json.data.endsWith(ORDER_SEQ_PLACEHOLDER)) throw new Error(`prepared add of ${opts.jobId}: orderSeq is not the data's last field`);
  // BullMQ's own checks of the options, as Job.create makes them.
  (job as unknown as { validateOptions(json: unknown): void }).validateOptions(json);
  let captured: { name: string; args: Array<string | Buffer> } | null = null;
  const client: CapturingClient = {
    runCommand: (command, args) => {
      captured = { name: command, args };
      return Promise.resolve(opts.jobId);
    },
  };
  const backend = queue.backend as unknown as {
    addJobToTransaction(client: CapturingClient, job: unknown, jobId: string, parentKeyOpts: object): Promise<string>;
  };
  await backend.addJobToTransaction(client, json, opts.jobId, { parentKey: undefined, parentDependenciesKey: '' });
  const command = captured as { name: string; args: Array<string | Buffer> } | null;
  // A delay or a priority would make it another script: this path only ever adds to the wait list.
  if (!command || !command.name.startsWith('addStandardJob:') || command.args.length !== STANDARD_ADD_KEYS + 3)
    throw new Error(`prepared add of ${opts.jobId}: BullMQ built ${command?.name ?? 'nothing'}, not addStandardJob with ${STANDARD_ADD_KEYS} keys`);
  const keys = command.args.slice(0, STANDARD_ADD_KEYS).map(String);
  const [packed, json2, encodedOpts] = command.args.slice(STANDARD_ADD_KEYS) as [Buffer | string, string, Buffer | string];
  return { keys, args: [packed, json2, encodedOpts] };
}
