import { parseHttpDate } from './http-date.js';

/** Entity tags in an If-Match / If-None-Match header; '*' is returned as the string '*'. */
export function parseEtagList(header: string): string[] {
  const out: string[] = [];
  for (const m of header.matchAll(/\*|(?:W\/)?"[^"]*"/g)) out.push(m[0]);
  return out;
}

function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** Strong comparison: both strong and identical. */
export function strongMatch(a: string, b: string): boolean {
  return !a.startsWith('W/') && !b.startsWith('W/') && a === b;
}

/** Weak comparison: identical opaque tags, weakness ignored. */
export function weakMatch(a: string, b: string): boolean {
  return opaque(a) === opaque(b);
}

export interface Validators {
  /** Strong quoted ETag: '"<sha256>"'. */
  etag: string;
  /** Last-Modified in whole seconds since the epoch. */
  lastModified: number;
}

export type ConditionalOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

/**
 * RFC 9110 section 13.2.2: evaluates If-Match, If-Unmodified-Since, If-None-Match and
 * If-Modified-Since, in that order, for a GET or HEAD of an existing representation.
 */
export function evaluateConditions(headers: (name: string) => string | undefined, v: Validators): ConditionalOutcome {
  const ifMatch = headers('if-match');
  if (ifMatch !== undefined) {
    const tags = parseEtagList(ifMatch);
    if (!tags.some((t) => t === '*' || strongMatch(t, v.etag))) return 'precondition-failed';
  } else {
    const ius = parseHttpDate(headers('if-unmodified-since'));
    if (ius !== undefined && v.lastModified > ius) return 'precondition-failed';
  }
  const ifNoneMatch = headers('if-none-match');
  if (ifNoneMatch !== undefined) {
    const tags = parseEtagList(ifNoneMatch);
    if (tags.some((t) => t === '*' || weakMatch(t, v.etag))) return 'not-modified';
  } else {
    const ims = parseHttpDate(headers('if-modified-since'));
    if (ims !== undefined && v.lastModified <= ims) return 'not-modified';
  }
  return 'proceed';
}

/**
 * If-Range (RFC 9110 section 13.1.5): true when the Range header may be honoured. An entity
 * tag must match strongly; a date must equal Last-Modified exactly.
 */
export function ifRangeAllows(ifRange: string | undefined, v: Validators): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return strongMatch(value, v.etag);
  const date = parseHttpDate(value);
  return date !== undefined && date === v.lastModified;
}

/** The preconditions a write request (PUT) may carry; without any, nothing needs looking up. */
export function hasWriteConditions(headers: (name: string) => string | undefined): boolean {
  return ['if-match', 'if-none-match', 'if-unmodified-since'].some((n) => headers(n) !== undefined);
}

/**
 * RFC 9110 section 13.2.2 for a state-changing request: `current` is the target's validators,
 * undefined when the file does not exist. If-Match needs a current representation whose strong
 * ETag is listed (or `*`); If-Unmodified-Since is looked at only without If-Match;
 * If-None-Match refuses when the file exists (`*`) or its ETag is listed (weak comparison).
 * If-Modified-Since does not apply to writes. Failure is 412, and nothing is written.
 */
export function evaluateWriteConditions(headers: (name: string) => string | undefined, current: Validators | undefined): 'proceed' | 'precondition-failed' {
  const ifMatch = headers('if-match');
  if (ifMatch !== undefined) {
    const tags = parseEtagList(ifMatch);
    if (!current || !tags.some((t) => t === '*' || strongMatch(t, current.etag))) return 'precondition-failed';
  } else if (current) {
    const ius = parseHttpDate(headers('if-unmodified-since'));
    if (ius !== undefined && current.lastModified > ius) return 'precondition-failed';
  }
  const ifNoneMatch = headers('if-none-match');
  if (ifNoneMatch !== undefined && current) {
    const tags = parseEtagList(ifNoneMatch);
    if (tags.some((t) => t === '*' || weakMatch(t, current.etag))) return 'precondition-failed';
  }
  return 'proceed';
}
