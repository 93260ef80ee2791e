// Writes the modules that embed the browser files (scripts/asset-module.ts lists them).
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { assetModule, EMBEDDED_ASSETS } from './asset-module.js';

const ROOT = resolve(import.meta.dirname, '..');

for (const asset of EMBEDDED_ASSETS) {
  const text = await readFile(join(ROOT, asset.source), 'utf8');
  const target = join(ROOT, asset.module);
  const next = assetModule(asset, text);
  const now = await readFile(target, 'utf8').catch(() => '');
  if (now === next) {
    console.log(`${asset.module}: up to date`);
    continue;
  }
  await writeFile(target, next);
  console.log(`${asset.module}: written from ${asset.source}`);
}
