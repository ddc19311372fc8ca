/**
 * Waits for `work` to settle, or for `ms` to pass, whichever comes first, and says whether it settled; leaves no
 * timer behind. (The object store has the same for its own stops; the packages do not depend on each other.)
 */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  return settled;
}
