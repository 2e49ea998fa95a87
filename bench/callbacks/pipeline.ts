// What JetStream knows about the benchmark's events: how many provider events were stored (after
// JetStream's duplicate window dropped the repeats), how far reporting's consumer is behind, and
// what was redelivered or dead-lettered. Tells "reporting is still catching up" from "events were lost".
import { consumerNames, REPORTING_PARTITIONS, reportingPartitionConsumer, streamNames, subjects } from '@dlr/contracts';
import { connectNats, createLogger, type NatsHandle } from '@dlr/platform';
import { messageCount } from '@dlr/testing';

/** A snapshot of the event pipeline of one namespace. */
export interface PipelineState {
  /** Callbacks committed to the callbacks stream (the webhooks' commit point; one event each here). */
  readonly committedCallbacks: number;
  /** Committed callbacks provider-callback's consumer has not finished (waiting or in progress). */
  readonly callbackBacklog: number;
  /** Provider `DeliveryEvent`s stored in the delivery stream. */
  readonly providerEvents: number;
  /**
   * Events (and work items) reporting's consumers have not been given yet: the work stream's
   * sourcing from the delivery stream, and the partitions.
   */
  readonly backlog: number;
  /** Events (and work items) given to reporting and not acknowledged yet. */
  readonly ackPending: number;
  /** Events and work items delivered to reporting more than once (handler failure or ack timeout). */
  readonly redelivered: number;
  /** Messages in the dead-letter stream. */
  readonly deadLettered: number;
}

/** Reads {@link PipelineState}s of a namespace over one NATS connection. */
export class PipelineProbe {
  readonly #nats: NatsHandle;
  readonly #namespace: string;
  #maxRedelivered = 0;

  private constructor(nats: NatsHandle, namespace: string) {
    this.#nats = nats;
    this.#namespace = namespace;
  }

  static async open(natsUrl: string, namespace: string): Promise<PipelineProbe> {
    const nats = await connectNats({
      servers: natsUrl,
      name: 'bench-callbacks',
      logger: createLogger('bench', 'warn'),
    });
    return new PipelineProbe(nats, namespace);
  }

  async read(): Promise<PipelineState> {
    const { jsm } = this.#nats;
    const streams = streamNames(this.#namespace);
    const [providerEvents, deadLetters, callbacks, raw, work, ...consumers] = await Promise.all([
      messageCount(jsm, this.#namespace, subjects(this.#namespace).deliveryEventsFrom('provider')),
      jsm.streams.info(streams.deadLetter),
      jsm.streams.info(streams.callbacks),
      jsm.consumers.info(streams.callbacks, consumerNames.callbackRaw),
      jsm.streams.info(streams.reportingWork),
      ...Array.from({ length: REPORTING_PARTITIONS }, (_, p) =>
        jsm.consumers.info(streams.reportingWork, reportingPartitionConsumer(p)),
      ),
    ]);
    const sum = (f: (c: (typeof consumers)[number]) => number) => consumers.reduce((n, c) => n + f(c), 0);
    const redelivered = sum((c) => c.num_redelivered);
    this.#maxRedelivered = Math.max(this.#maxRedelivered, redelivered);
    return {
      committedCallbacks: callbacks.state.messages,
      callbackBacklog: raw.num_pending + raw.num_ack_pending,
      providerEvents,
      backlog: sum((c) => c.num_pending) + (work.sources ?? []).reduce((n, s) => n + s.lag, 0),
      ackPending: sum((c) => c.num_ack_pending),
      redelivered,
      deadLettered: deadLetters.state.messages,
    };
  }

  /** The highest {@link PipelineState.redelivered} any read has seen. */
  get maxRedelivered(): number {
    return this.#maxRedelivered;
  }

  async close(): Promise<void> {
    await this.#nats.drain();
  }
}

/** True when provider-callback's consumer and reporting have nothing left to process. */
export function idle(state: PipelineState): boolean {
  return state.callbackBacklog === 0 && state.backlog === 0 && state.ackPending === 0;
}
