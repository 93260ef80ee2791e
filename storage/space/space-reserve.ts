/**
 * Space held back on the data disk so that freeing space always works: a delete (a catalog
 * write, a tombstone) or an fsck repair on a full disk needs a little room itself. Uploads never
 * get it; only operations that free space release it, and it is taken back once space returns.
 */
export interface SpaceReserve {
  /** Gives the reserved space back to the disk; false when nothing was held. */
  release(): Promise<boolean>;
  /** Takes the reserve again if the disk has room for it (twice its size free); true when held. */
  restore(): Promise<boolean>;
}

/** Whether the reserve may be taken again (pure, for tests): only with room to spare. */
export function canRestore(freeBytes: number, reserveBytes: number): boolean {
  return reserveBytes > 0 && freeBytes >= 2 * reserveBytes;
}
