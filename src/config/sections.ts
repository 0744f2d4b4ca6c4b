/**
 * The prose of docs/configuration.md around its tables: the preamble, and
 * each section's heading and notes. Each variable names its section.
 */

export const PREAMBLE = `# Configuration

<!-- Generated from the declarations in src/config/ by \`npm run docs:config\`: edit the declarations, not this file. -->

Every variable the service reads, grouped by the contract section that asks for it
(\`../shared/spec/contract.md\`), then the Swarm backend's and ours. Each row is
written from the variable's one declaration in \`src/config/\` (its name, parser,
default and this line), from which the boot's zod schema and the \`Config\` type
come too.

## How configuration is read

- One zod schema over the environment (\`src/config.ts\`), whose output is the
  \`Config\` type, validates every variable at boot. A bad value stops boot with
  exit code 1 and one line per bad variable, naming it and saying why, so an
  operator fixes all of them in one go. Credentials and a default above its
  ceiling are reported beside the other bad variables, not after they are fixed.
- An empty value means "not set" (shells and Procfiles often export \`X=\`).
- Integers are checked on the string, not coerced: \`0x10\`, \`1e3\` or \` 12\` are
  refused as typos, and the error line quotes what was written. A URL's password
  never reaches the error line.
- \`DOCKER_HOST\`, the fallback of \`RTMANAGER_DOCKER_HOST\`, is validated like it
  when it is used; when \`RTMANAGER_DOCKER_HOST\` is set, \`DOCKER_HOST\` is not judged.
  \`npipe://\` hosts are refused: this service runs on Linux.
- Durations of contract §10 ("ms" below without another range) are 1 ms – 1 day.

Defaults are in the second column; "—" means no default.`;

export interface Section {
  /** A `##` heading; none: a further table of the section above. */
  heading?: string;
  before?: string;
  after?: string;
}

export const SECTIONS = {
  contract2: { heading: 'Contract §2' },
  contract10: {
    heading: 'Contract §10: leases and deadlines',
    after: 'Why and how they are used: [decisions.md](decisions.md#how-jobs-keyed-by-game-id-stay-correct).',
  },
  contract11: {
    heading: 'Contract §11: images and where they come from',
    after: `Limits asked for by image labels: a label that parses but asks for more than its
maximum fails the start with \`start_config_invalid\` at \`inspect_image\`, naming
every such label and its maximum (\`com.galaxy.memory=1p\`, which Docker would take
as no limit at all, is refused); a label that does not parse still falls back to
the default (contract §8). A \`RTMANAGER_CONTAINER_DEFAULT_*\` above its maximum
stops boot.`,
  },
  engineContainers: {
    heading: 'Contract §12: engine containers, the service, Docker over TLS',
    before: `Engine containers (what each costs when loosened:
[operations.md](operations.md#engine-containers)):`,
  },
  service: { before: 'The service ([operations.md](operations.md#security)):' },
  dockerTls: {
    before: `Docker over TLS (a \`tcp://\` host; a unix socket ignores all of it). These are the
Docker CLI's variables, read as it reads them:`,
  },
  contract13: { heading: 'Contract §13: observability and retention' },
  swarm: {
    heading: 'Swarm backend (issue 13)',
    before: `What each variable of one engine means on a swarm:
[operations.md](operations.md#many-hosts-docker-swarm).`,
  },
  ours: {
    heading: 'Ours (not in the contract)',
    after: `Variables read only by the tests (\`RTMANAGER_TEST_CRASH_*\`, \`RTM_*\`) are in
[testing.md](testing.md).`,
  },
  contract14: { heading: "Contract v3 (§14): every accepted request's intent" },
  contract15: {
    heading: 'Contract v3 (§15): engines, not only containers',
    before: `Image labels \`com.galaxy.stop_signal\` and \`com.galaxy.stop_timeout\` choose how a stop ends an
engine (falling back to the image's \`STOPSIGNAL\` and \`RTMANAGER_STOP_TIMEOUT_SECONDS\`).`,
  },
  contract16: {
    heading: "Contract v3 (§16): the operator's window",
    before: `Reading an engine's output through \`GET /api/v1/internal/runtimes/{game_id}/logs\`
([api.md](api.md#logs)); what the bounds cost: [operations.md](operations.md#logs).`,
  },
} as const satisfies Record<string, Section>;

export type SectionId = keyof typeof SECTIONS;
