/**
 * Node's own crypto when the runtime is Node, found without importing a node: module so that
 * runtime-neutral code (the handlers, shared/) can use it and fall back to Web Crypto elsewhere:
 * a synchronous hash of a short text is ~2 us, where Web Crypto's digest is a thread-pool job
 * with a promise (~50-100 us of main-thread time on a small VM).
 */
export const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:crypto') as
  | typeof import('node:crypto')
  | undefined;
