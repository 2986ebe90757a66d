/**
 * Skips that say why. A suite or test that cannot run here is skipped with the reason in its
 * own title, so `vitest run` lists it as skipped, reason visible: never a placeholder test
 * that passes in its place.
 *
 *   const skipReason = whySkip([!isRoot, 'needs root'], [!hasIp, "needs the 'ip' command"]);
 *   describe.skipIf(skipReason !== null)(`lab tests${skipNote(skipReason)}`, () => { … });
 */

/** The reason of the first check that fails (its condition is true), or null when all pass. */
export function whySkip(...checks: Array<[skip: boolean, reason: string]>): string | null {
  return checks.find(([skip]) => skip)?.[1] ?? null;
}

/** What a title carries when skipped: ` — skipped: REASON`; nothing when it runs. */
export function skipNote(reason: string | null): string {
  return reason === null ? '' : ` — skipped: ${reason}`;
}
