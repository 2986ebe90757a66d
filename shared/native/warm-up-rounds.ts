import { monoNs } from '../time/clock.js';

/** What a warm-up did: its rounds, the synthetic probes through the path, and the first and last round's time. */
export interface WarmUp { rounds: number; probes: number; firstRoundMs: number; lastRoundMs: number }

/**
 * Runs `round` (it returns how many probes it put through the path) until the rounds stop
 * getting faster, that is until V8 has installed its optimized code: at least `min` rounds,
 * until two in a row are no faster than 0.9 × the best before them, at most `max`; a busy machine, whose
 * compiler threads finish later, gets more rounds. A short pause after each lets the
 * compiler's jobs finish and be installed.
 */
export async function warmUpInRounds(round: (index: number) => number, min = 6, max = 24): Promise<WarmUp> {
  const done: WarmUp = { rounds: 0, probes: 0, firstRoundMs: 0, lastRoundMs: 0 };
  let bestMs = Infinity;
  let flatRounds = 0;
  while (done.rounds < max) {
    const startNs = monoNs();
    done.probes += round(done.rounds);
    const roundMs = Number(monoNs() - startNs) / 1e6;
    if (done.rounds === 0) done.firstRoundMs = roundMs;
    done.lastRoundMs = roundMs;
    done.rounds++;
    flatRounds = roundMs >= 0.9 * bestMs ? flatRounds + 1 : 0;
    bestMs = Math.min(bestMs, roundMs);
    // Two flat rounds in a row, not one: on a busy machine one round can be slow by chance while
    // the compiler still works (a function was left unoptimized at the end in 2 of ~20 test
    // runs that stopped at the first); and code compiled meanwhile is installed at its next call.
    if (done.rounds >= min && flatRounds >= 2) break;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return done;
}
