import { monoNs } from '../time/clock.js';

/** What a warm-up did: its rounds, the synthetic probes through the path, and the first and last round's time. */
export interface WarmUp { rounds: number; probes: number; firstRoundMs: number; lastRoundMs: number }

/** Between rounds: time for the compiler's jobs to finish. */
const PAUSE_MS = 2;
/** Before the last round: V8's concurrent compiler on a busy machine (a job takes milliseconds to tens of them). */
const INSTALL_PAUSE_MS = 20;

/**
 * Runs `round` (it returns how many probes it put through the path) until the rounds stop
 * getting faster, that is until V8 has installed its optimized code: at least `min` rounds,
 * until two in a row are no faster than 0.9 × the best before them, at most `max`; a busy machine, whose
 * compiler threads finish later, gets more rounds. A short pause after each lets the
 * compiler's jobs finish. Then one round more, after a longer pause: V8 attaches code it
 * compiled to a function only at that function's next call, so a function whose compilation
 * the last round started or finished (one called a few times a round, whose share of a round's
 * time is too small to show) would otherwise meet the first real probe unoptimized.
 */
export async function warmUpInRounds(round: (index: number) => number, min = 6, max = 24): Promise<WarmUp> {
  const done: WarmUp = { rounds: 0, probes: 0, firstRoundMs: 0, lastRoundMs: 0 };
  const runRound = (): number => {
    const startNs = monoNs();
    done.probes += round(done.rounds);
    const roundMs = Number(monoNs() - startNs) / 1e6;
    if (done.rounds === 0) done.firstRoundMs = roundMs;
    done.lastRoundMs = roundMs;
    done.rounds++;
    return roundMs;
  };
  let bestMs = Infinity;
  let flatRounds = 0;
  while (done.rounds < max - 1) {
    const roundMs = runRound();
    flatRounds = roundMs >= 0.9 * bestMs ? flatRounds + 1 : 0;
    bestMs = Math.min(bestMs, roundMs);
    // Two flat rounds in a row, not one: on a busy machine one round can be slow by chance while
    // the compiler still works (a function was left unoptimized at the end in 2 of ~20 test
    // runs that stopped at the first).
    if (done.rounds >= min && flatRounds >= 2) break;
    await pause(PAUSE_MS);
  }
  await pause(INSTALL_PAUSE_MS);
  runRound();
  return done;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
