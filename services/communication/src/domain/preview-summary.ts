// The delivery preview's counts, kept as a summary that a background pass computes once per state of
// the recipients and stores as it goes: a view reads the summary (and one page of recipients), never
// every delivery.
import { randomUUID } from 'node:crypto';
import type { SuppressionReason } from '@dlr/contracts';
import type { Logger } from '@dlr/core';
import type { ChannelName, CommunicationDoc, DeliveryDoc } from './model.js';
import type { CommunicationStore, SuppressionLookup } from './ports.js';
import { fieldValues, mergeContent, usedFields } from './merge.js';
import { deliveryOutcome, emptySummary, smsPreview, type ChannelSummary } from './preview.js';
import type { SmsCount } from './sms.js';

/** A communication's preview counts as stored (`_id`: the communication ID). */
export interface PreviewSummaryDoc {
  _id: string;
  /** The state it summarises: see {@link summaryVersion}. */
  version: string;
  /** The pass writing it (a newer pass takes over; the older one stops at its next write). */
  runId: string;
  state: 'running' | 'done';
  /** Deliveries looked at so far, of `total` (the kept count when the pass began). */
  checked: number;
  total: number;
  recipientCount: number;
  channels: ChannelSummary[];
  /** False when the suppression list could not be consulted for some deliveries. */
  suppressionChecked: boolean;
  /** The SMS that takes the most segments once merge fields are filled in (personalised SMS only). */
  longestSms?: SmsCount & { linkAllowance: number };
  startedAt: Date;
  updatedAt: Date;
  finishedAt?: Date;
}

/** Where summaries are kept. */
export interface PreviewSummaryStore {
  get(communicationId: string): Promise<PreviewSummaryDoc | null>;
  /** Starts a pass: replaces whatever is stored for the communication. */
  start(doc: PreviewSummaryDoc): Promise<void>;
  /** Stores a pass's progress; false when another pass has taken over (this one then stops). */
  update(doc: PreviewSummaryDoc): Promise<boolean>;
}

/** The state a summary is valid for: the recipients, channels, override and the suppression list. */
export function summaryVersion(
  c: Pick<CommunicationDoc, 'recipientsRevision' | 'channels' | 'preferenceOverride'>,
  suppressionsRevision: number,
): string {
  const override = c.preferenceOverride ? 'override' : '';
  return `${c.recipientsRevision ?? 'r?'}|${c.channels.join(',')}|${override}|s${suppressionsRevision}`;
}

/** Deliveries read per round trip by a pass. */
const PAGE = 1_000;
/** How often a pass stores its progress. */
const PROGRESS_EVERY_MS = 1_000;
/** A running pass that has not written for this long is taken to be dead (its process stopped). */
const STALE_MS = 15_000;
/** A finished summary older than this is computed again (the suppression list moves). */
const MAX_AGE_MS = 5 * 60_000;
/** How long a view of a small list waits for its pass, so it answers with the counts complete. */
const QUICK_MS = 500;
/** Deliveries up to which a view waits (a larger list answers at once, with its progress). */
const QUICK_LIMIT = 5_000;

/** Keeps the preview summaries: starts a pass when a view finds none for the current state. */
export class PreviewSummaries {
  private readonly passes = new Map<string, Promise<PreviewSummaryDoc | undefined>>();

  constructor(
    private readonly deps: {
      store: Pick<CommunicationStore, 'deliveriesPage' | 'setDeliveryCount'>;
      summaries: PreviewSummaryStore;
      suppressions?: SuppressionLookup | undefined;
      /** Characters dispatch's acknowledge link takes in an SMS. */
      smsLinkLength: number;
      logger: Logger;
      clock?: () => Date;
    },
  ) {}

  private now(): Date {
    return (this.deps.clock ?? (() => new Date()))();
  }

  /**
   * The summary for the communication's current state: the stored one when it is current, else a new
   * pass's (waiting up to {@link QUICK_MS} for it, so a small list answers finished).
   */
  async current(communication: CommunicationDoc, deliveryCount: number): Promise<PreviewSummaryDoc> {
    const [stored, suppressionsRevision] = await Promise.all([
      this.deps.summaries.get(communication._id),
      this.suppressionsRevision(),
    ]);
    const version = summaryVersion(communication, suppressionsRevision);
    const now = this.now().getTime();
    const usable =
      stored !== null &&
      stored.version === version &&
      (stored.state === 'done'
        ? now - (stored.finishedAt ?? stored.updatedAt).getTime() < MAX_AGE_MS
        : this.passes.has(communication._id) || now - stored.updatedAt.getTime() < STALE_MS);
    if (usable) return stored;
    let pass = this.passes.get(communication._id);
    if (!pass) {
      pass = this.pass(communication, version, deliveryCount)
        .catch((error: unknown) => {
          // The stored summary goes stale and the next view starts again.
          this.deps.logger.warn({ communicationId: communication._id, err: String(error) }, 'preview summary stopped');
          return undefined;
        })
        .finally(() => this.passes.delete(communication._id));
      this.passes.set(communication._id, pass);
    }
    const quick =
      deliveryCount > QUICK_LIMIT
        ? undefined
        : await Promise.race([
            pass,
            new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), QUICK_MS).unref()),
          ]);
    return (
      quick ??
      (await this.deps.summaries.get(communication._id)) ??
      this.fresh(communication, version, deliveryCount, '')
    );
  }

  private async suppressionsRevision(): Promise<number> {
    try {
      return (await this.deps.suppressions?.revision()) ?? 0;
    } catch {
      return -1; // unreadable: the pass finds the list unreadable too and says so
    }
  }

  /** Waits for passes running in this process (tests and shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.passes.values()]);
  }

  private fresh(c: CommunicationDoc, version: string, total: number, runId: string): PreviewSummaryDoc {
    const at = this.now();
    return {
      _id: c._id,
      version,
      runId,
      state: 'running',
      checked: 0,
      total,
      recipientCount: 0,
      channels: c.channels.map(emptySummary),
      suppressionChecked: this.deps.suppressions !== undefined,
      startedAt: at,
      updatedAt: at,
    };
  }

  private async pass(c: CommunicationDoc, version: string, total: number): Promise<PreviewSummaryDoc> {
    const doc = this.fresh(c, version, total, randomUUID());
    await this.deps.summaries.start(doc);
    const per = new Map<ChannelName, ChannelSummary>(doc.channels.map((s) => [s.channel, s]));
    const bits = new Map<ChannelName, number>(c.channels.map((ch, i) => [ch, 1 << i]));
    // Recipient key → the channels it has a delivery on (a recipient's deliveries are spread over
    // the ID order, so they are gathered here; a few MB at 200 000 recipients).
    const recipients = new Map<string, number>();
    const tally = () => {
      doc.recipientCount = recipients.size;
      for (const [channel, bit] of bits) {
        let missing = 0;
        for (const mask of recipients.values()) if ((mask & bit) === 0) missing++;
        per.get(channel)!.missing_address = missing;
      }
    };
    // A personalised SMS is as long as its longest filling.
    const smsTemplate = { emailSubject: '', emailBody: '', smsText: c.smsText };
    const personalSms = c.channels.includes('sms') && usedFields(smsTemplate).fields.length > 0;
    const longer = (d: DeliveryDoc) => {
      const { smsText } = mergeContent(smsTemplate, fieldValues(d));
      const count = smsPreview(
        { smsText, acknowledgementRequested: c.acknowledgementRequested },
        this.deps.smsLinkLength,
      );
      const best = doc.longestSms;
      if (!best || count.segments > best.segments || (count.segments === best.segments && count.length > best.length))
        doc.longestSms = count;
    };
    let after = '';
    let lastWrite = Date.now();
    for (;;) {
      const page = await this.deps.store.deliveriesPage(c._id, after, PAGE);
      if (page.length === 0) break;
      const { suppressed, linkOptOuts } = await this.suppressedIn(c, page, doc);
      for (const d of page) {
        const bit = bits.get(d.channel);
        if (bit === undefined) continue; // a channel the communication no longer uses
        // A recipient without any address has one address-less record: missing on every channel.
        recipients.set(d.recipientKey, (recipients.get(d.recipientKey) ?? 0) | (d.address === '' ? 0 : bit));
        if (d.address === '') continue;
        per.get(d.channel)![deliveryOutcome(d, c, suppressed, linkOptOuts)]++;
        if (personalSms && d.channel === 'sms') longer(d);
      }
      doc.checked += page.length;
      after = page.at(-1)!._id;
      if (Date.now() - lastWrite >= PROGRESS_EVERY_MS) {
        lastWrite = Date.now();
        tally();
        doc.total = Math.max(doc.total, doc.checked);
        doc.updatedAt = this.now();
        if (!(await this.deps.summaries.update(doc))) return doc; // a newer pass took over
      }
      if (page.length < PAGE) break;
    }
    tally();
    doc.total = doc.checked;
    doc.state = 'done';
    doc.updatedAt = this.now();
    doc.finishedAt = doc.updatedAt;
    await this.deps.summaries.update(doc);
    // The kept count self-heals here (a crash between an insert and its increment left it short).
    if (c.recipientsRevision !== undefined)
      await this.deps.store.setDeliveryCount(c._id, c.recipientsRevision, doc.checked);
    this.deps.logger.info({ communicationId: c._id, deliveries: doc.checked }, 'delivery preview summarised');
    return doc;
  }

  private async suppressedIn(
    c: CommunicationDoc,
    page: readonly DeliveryDoc[],
    doc: PreviewSummaryDoc,
  ): Promise<{ suppressed: ReadonlyMap<string, SuppressionReason>; linkOptOuts: ReadonlySet<string> }> {
    const none = { suppressed: new Map<string, SuppressionReason>(), linkOptOuts: new Set<string>() };
    if (!this.deps.suppressions) return none;
    try {
      const suppressed = await this.deps.suppressions.suppressed(page);
      // An override passes opt-outs through a link (counted as preference overridden).
      const linkOptOuts = c.preferenceOverride ? await this.deps.suppressions.linkOptOuts(page) : none.linkOptOuts;
      return { suppressed, linkOptOuts };
    } catch (error) {
      doc.suppressionChecked = false;
      this.deps.logger.warn({ communicationId: c._id, err: String(error) }, 'suppression lookup failed');
      return none;
    }
  }
}
