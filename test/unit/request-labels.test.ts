import { describe, expect, it } from 'vitest';
import { transferOf } from '../../adapters/node/metrics.js';
import { isMetricsToken } from '../../handlers/api/metrics.js';
import { routeLabel } from '../../handlers/http/request-tags.js';

const use = (path: string) => ({ method: 'ALL', path });

describe('routeLabel', () => {
  it.each([
    ['a file', [use('/*'), use('/*'), { method: 'GET', path: '/files/*' }], '/files/*'],
    ['an API route under a sub-app middleware', [use('/*'), use('/api/*'), { method: 'GET', path: '/api/files' }], '/api/files'],
    ['a public route before later middleware', [use('/*'), { method: 'GET', path: '/healthz' }, use('/*')], '/healthz'],
    ['the first of two matching handlers', [use('/*'), { method: 'POST', path: '/uploads/:empty{^$}' }, { method: 'POST', path: '/uploads/:id' }], '/uploads/:empty{^$}'],
    ['only middleware', [use('/*'), use('/*')], 'unmatched'],
    ['nothing', [], 'unmatched'],
  ])('%s', (_what, matched, label) => expect(routeLabel(matched)).toBe(label));
});

describe('transferOf', () => {
  it.each([
    ['PUT', '/files/*', 'upload'],
    ['PATCH', '/uploads/:id', 'upload'],
    ['GET', '/files/*', 'download'],
    ['GET', '/zip/*', 'download'],
    ['HEAD', '/files/*', undefined],
    ['DELETE', '/files/*', undefined],
    ['POST', '/uploads/:empty{^$}', undefined],
    ['GET', '/api/files', undefined],
    ['GET', 'unmatched', undefined],
  ])('%s %s', (method, route, kind) => expect(transferOf(method, route)).toBe(kind));
});

describe('isMetricsToken', () => {
  it.each([
    ['', 'anything', false],
    ['', '', false],
    ['scrape-secret-0123456789', 'scrape-secret-0123456789', true],
    ['scrape-secret-0123456789', 'scrape-secret-012345678', false],
    ['scrape-secret-0123456789', 'SCRAPE-SECRET-0123456789', false],
  ])('configured %j, presented %j', async (configured, presented, ok) => expect(await isMetricsToken(configured, presented)).toBe(ok));
});
