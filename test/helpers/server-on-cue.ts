/**
 * adapters/node/main.ts started on cue (see preloadServer in server.ts): this process first
 * loads what main.ts imports (through tsx the slow part of a start, and slower the busier the
 * machine), says `loaded`, and runs main.ts with its own arguments once a line arrives on stdin.
 * A restart of a server under a running client is then as short as the server's own start-up.
 */
import '../../shared/build-freshness.js';
import '../../adapters/node/config.js';
import '../../adapters/node/log-lines.js';
import '../../adapters/node/server.js';

process.stdout.write('loaded\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
process.stdin.pause();
await import('../../adapters/node/main.js');
