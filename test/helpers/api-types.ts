/** One item of `GET /api/files`, as the tests read it: the wire contract's own type. */
export type { FileJson as ApiFile } from '../../shared/wire.js';
