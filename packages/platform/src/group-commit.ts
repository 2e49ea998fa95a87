/**
 * Group commit: callers hand in one item each and await its own result, while the items that
 * arrive together go to the store as one batch. A batch starts as soon as a slot is free (no timer:
 * a lone item is not delayed), and the items that come in while batches are running wait for the
 * next one, so batches grow with the load. Each store round trip (and each commit the store makes)
 * then serves many callers.
 */
export interface GroupCommitOptions<T, R> {
  /**
   * Runs one batch. Returns one outcome per item, in order: the item's result, or an `Error` for an
   * item that failed alone. Throwing fails every item of the batch.
   */
  readonly run: (items: readonly T[]) => Promise<readonly (R | Error)[]>;
  /** Most items in one batch (default 256). */
  readonly maxItems?: number;
  /** Batches running at once (default 2). */
  readonly maxInFlight?: number;
}

interface Pending<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/** Returns the function callers use: `await submit(item)` resolves with that item's outcome. */
export function groupCommit<T, R>(options: GroupCommitOptions<T, R>): (item: T) => Promise<R> {
  const maxItems = options.maxItems ?? 256;
  const maxInFlight = options.maxInFlight ?? 2;
  const queue: Pending<T, R>[] = [];
  let inFlight = 0;
  let scheduled = false;

  const runBatch = async (batch: Pending<T, R>[]): Promise<void> => {
    try {
      const outcomes = await options.run(batch.map((p) => p.item));
      batch.forEach((p, i) => {
        const outcome = outcomes[i];
        if (outcome instanceof Error) p.reject(outcome);
        else if (i >= outcomes.length) p.reject(new Error('the batch returned no outcome for this item'));
        else p.resolve(outcome as R);
      });
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  };

  const pump = (): void => {
    scheduled = false;
    while (inFlight < maxInFlight && queue.length > 0) {
      inFlight += 1;
      void runBatch(queue.splice(0, maxItems)).finally(() => {
        inFlight -= 1;
        pump();
      });
    }
  };

  return (item: T) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      // Let the items of this tick join before the batch leaves.
      if (!scheduled && inFlight < maxInFlight) {
        scheduled = true;
        setImmediate(pump);
      }
    });
}
