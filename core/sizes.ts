/**
 * What one socket read delivers in Node (64 KiB). A body under this size arrives in one piece,
 * so reading it whole holds no more than a stream's chunk would: the node adapter streams request
 * bodies from this size up, PUT reads smaller ones in one go, and the disk store writes a body
 * that ends within it with one write.
 */
export const SMALL_BODY_BYTES = 64 * 1024;
