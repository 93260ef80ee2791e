/** Lower-case hex SHA-256, as blobs are keyed. */
export function isSha256(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}
