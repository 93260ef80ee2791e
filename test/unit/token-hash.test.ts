import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashToken } from '../../handlers/auth.js';

describe('hashToken: the same SHA-256 on every runtime', () => {
  const samples = ['', 'cb_0123456789abcdef.' + 'x'.repeat(43), 'ünïcødé ✓', '\ud800 lone surrogate', 'a\nb'];

  it.each(samples)('Node crypto and Web Crypto agree on %j', async (text) => {
    const viaNode = await hashToken(text);
    const viaWeb = await hashToken(text, null);
    expect(viaNode).toBe(viaWeb);
    expect(viaNode).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is the hex SHA-256 of the UTF-8 bytes (what stored token hashes were made with)', async () => {
    expect(await hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await hashToken('ü', null)).toBe(createHash('sha256').update(Buffer.from('ü', 'utf8')).digest('hex'));
  });
});
