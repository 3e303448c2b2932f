/**
 * Two runs one after the other, the order flipped each round (the second first when `index` is
 * odd), so neither side always runs on a machine the other just loaded. Results in the order given.
 */
export async function inTurn<A, B>(index: number, first: () => Promise<A>, second: () => Promise<B>): Promise<[A, B]> {
  if (index % 2 === 0) return [await first(), await second()];
  const later = await second();
  return [await first(), later];
}
