/** One item of `GET /api/files`, as the tests read it. */
export interface ApiFile {
  path: string;
  size: number;
  sha256: string;
  state: 'hot' | 'cold';
  storedSize: number;
  lastAccess: number;
}
