const settled = () => undefined;

/**
 * Runs work on one key one at a time (within this process, the only one using the data folder). An object is
 * three files; holding the key while they are renamed into place, read or removed is what lets a reader see
 * either the old or the new object, never the metadata of one with the bytes of the other.
 */
export class KeyLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(work);
    const tail = result.then(settled, settled);
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
