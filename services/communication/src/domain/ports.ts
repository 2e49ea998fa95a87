import type { CommunicationDoc, DeliveryDoc } from './model.js';

/** Storage of communications and their deliveries (implemented over MongoDB). */
export interface CommunicationStore {
  insertCommunication(doc: CommunicationDoc): Promise<void>;
  getCommunication(id: string): Promise<CommunicationDoc | null>;
  /** Inserts the deliveries that are new; returns the IDs that already existed. */
  insertDeliveries(docs: readonly DeliveryDoc[]): Promise<{ existingIds: string[] }>;
  getDeliveries(ids: readonly string[]): Promise<DeliveryDoc[]>;
  countDeliveries(communicationId: string): Promise<number>;
  /** Every delivery of a communication in ID order, in pages. */
  streamDeliveries(communicationId: string): AsyncIterable<DeliveryDoc>;
  /** Moves state `from` → `to` if the communication is in `from`; returns the updated doc or null. */
  transition(
    id: string,
    from: CommunicationDoc['state'],
    to: CommunicationDoc['state'],
    at: Date,
  ): Promise<CommunicationDoc | null>;
  /** IDs of communications left in `sending` (e.g. by a crash). */
  listSending(): Promise<string[]>;
}

/** Publishes this service's events; each call resolves once JetStream has stored the message. */
export interface CommunicationEvents {
  recipientsAdded(communication: CommunicationDoc, deliveries: readonly DeliveryDoc[], at: Date): Promise<void>;
  sendRequested(communication: CommunicationDoc, delivery: DeliveryDoc, attempt: number, at: Date): Promise<void>;
}
