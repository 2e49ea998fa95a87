import type { DeliveryEvent } from '@dlr/contracts';
import type { AttemptDoc, AttemptResult, FinishedAttempt } from './attempt.js';

/** Storage of send attempts; every write is conditional per document (alone or in a bulk). */
export interface AttemptStore {
  /** Inserts a new attempt; false when one with the same `_id` already exists. */
  insert(doc: AttemptDoc): Promise<boolean>;
  /**
   * Inserts new attempts in one write. Per document, in order: true when inserted, false when one
   * with the same `_id` already exists, or the `Error` it alone met. Throws when the write as a whole fails.
   */
  insertMany(docs: readonly AttemptDoc[]): Promise<(boolean | Error)[]>;
  get(id: string): Promise<AttemptDoc | null>;
  /**
   * Records the result of an attempt that is still `sending`, and returns the attempt as stored:
   * ours, or — when someone else finished it first — theirs.
   */
  finish(doc: AttemptDoc, result: AttemptResult, finishedAt: Date): Promise<FinishedAttempt>;
  /**
   * {@link finish} for several attempts in one write. Per item, in order: the attempt as stored, or
   * the `Error` it alone met. Throws when the write as a whole fails.
   */
  finishMany(
    items: readonly { doc: AttemptDoc; result: AttemptResult }[],
    finishedAt: Date,
  ): Promise<(FinishedAttempt | Error)[]>;
  /** Deletes an attempt that is still `sending` (used when we stop before the provider could accept it). */
  release(id: string): Promise<void>;
}

/** Publishes dispatch's delivery events; resolves once JetStream stored the event. */
export interface DeliveryEventPublisher {
  publish(event: DeliveryEvent): Promise<void>;
}
