/**
 * The one way tests wait for something that happens in the background: poll `check` until it
 * holds, and throw (naming `what`) when it has not within `timeoutMs`. Never a fixed sleep.
 */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000, everyMs = 25): Promise<void> {
  await waitForValue(what, async () => ((await check()) ? true : undefined), timeoutMs, everyMs);
}

/** As waitFor, for a value that turns up: resolves with the first one `check` returns. */
export async function waitForValue<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
