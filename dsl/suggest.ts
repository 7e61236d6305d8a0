/** "Did you mean ...?" suggestions by edit distance. */
import { MAX_SUGGESTED_WORD, SUGGESTION_BUDGET } from './limits.ts';

/**
 * Optimal string alignment distance: Levenshtein plus adjacent transpositions (`apha` vs
 * `alpha`, `rnak` vs `rank`). Three rolling rows: memory linear in the shorter word's length.
 */
export function editDistance(a: string, b: string): number {
  const cols = b.length + 1;
  let before = new Array<number>(cols).fill(0);
  let previous = Array.from({ length: cols }, (_, j) => j);
  let current = new Array<number>(cols).fill(0);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, before[j - 2]! + 1);
      current[j] = best;
    }
    [before, previous, current] = [previous, current, before];
  }
  return previous[b.length]!;
}

/**
 * Suggestions with a bound on the work: each comparison costs its table's cells, and once
 * `budget` cells are spent no more are made (the hint falls back to its generic wording). One
 * per check, so many unknown names against many candidates stay linear in the input.
 */
export class Suggester {
  constructor(private budget = SUGGESTION_BUDGET) {}

  /** The closest candidate, if it is close enough to be a likely typo (about a third of the word may differ). */
  closest(word: string, candidates: Iterable<string>): string | undefined {
    if (word.length > MAX_SUGGESTED_WORD) return undefined;
    const lower = word.toLowerCase();
    const limit = Math.max(1, Math.floor(word.length / 3));
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const c of candidates) {
      // The distance is at least the difference in length: no need to compute it.
      if (Math.abs(c.length - word.length) > limit) continue;
      const cells = (word.length + 1) * (c.length + 1);
      if (cells > this.budget) return best;
      this.budget -= cells;
      const dist = editDistance(lower, c.toLowerCase());
      if (dist < bestDistance && dist <= limit) {
        best = c;
        bestDistance = dist;
      }
    }
    return best;
  }

  didYouMean(word: string, candidates: Iterable<string>): string | undefined {
    const c = this.closest(word, candidates);
    return c === undefined ? undefined : `did you mean \`${c}\`?`;
  }
}

/** The closest of a few fixed candidates (keys, choices); see Suggester for open-ended ones. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  return new Suggester().closest(word, candidates);
}

export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  return new Suggester().didYouMean(word, candidates);
}
