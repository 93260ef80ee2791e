import { parseArgs } from 'node:util';
import { ConfigError, readSpec, SERVER_SPEC, type Option, type ServerConfig } from '../config-spec.js';

export { ConfigError, type ServerConfig } from '../config-spec.js';

const OPTIONS: readonly Option<unknown>[] = Object.values(SERVER_SPEC);

/** Flags win over environment variables, which win over defaults. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(OPTIONS.map((o) => [o.flag, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return readSpec(SERVER_SPEC, (o) => {
    const fromFlag = values[o.flag];
    if (typeof fromFlag === 'string') return { raw: fromFlag, name: `--${o.flag}` };
    const fromEnv = env[o.env];
    return fromEnv !== undefined ? { raw: fromEnv, name: o.env } : { raw: o.fallback, name: `--${o.flag}` };
  });
}

export function usage(): string {
  const rows = OPTIONS.map((o) => `  --${o.flag.padEnd(18)} ${o.env.padEnd(22)} ${o.help} (default ${o.fallback})`);
  return ['usage: npm run serve:node -- [options]', ...rows].join('\n');
}
