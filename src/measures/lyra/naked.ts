/**
 * Naked short contracts among the holdings of one strike, as PMRMLib._getOptionContingency
 * counts them: pairs (first holding, each later one) — a long and a short offset up to the
 * smaller size, two shorts both count; a holding met by no other counts its own short size.
 */
export function lyraNakedShorts(amounts: number[]): number {
  let naked = 0;
  const seen = new Array<boolean>(amounts.length).fill(false);
  for (let i = 0; i < amounts.length; i++) {
    if (seen[i]) continue;
    let found = false;
    const a = amounts[i];
    for (let j = i + 1; j < amounts.length; j++) {
      const b = amounts[j];
      seen[j] = true;
      if (a * b < 0) {
        if (a < 0) naked += Math.abs(a) - Math.min(-a, b);
        else naked += Math.abs(b) - Math.min(a, -b);
      } else if (a < 0) {
        naked += Math.abs(a) + Math.abs(b);
      }
      found = true;
    }
    if (!found && a < 0) naked += Math.abs(a);
  }
  return naked;
}
