import { defineCounter } from '@dlr/platform';
/** Why a callback was refused before it was stored. */
export type RejectReason = 'signature' | 'malformed';

const HELP = {
  dlr_callbacks_received_total: 'Authenticated, well-formed provider callbacks received (repeats included).',
  dlr_callbacks_unmapped_total: 'Callbacks whose event type maps to no status: stored raw, not published.',
  dlr_callbacks_rejected_total: 'Callbacks refused before storage (bad signature or stale timestamp, malformed body).',
  dlr_callbacks_parked_total:
    'Mapped callbacks parked until dispatch reports their provider message (repeats included).',
  dlr_callbacks_released_total: 'Parked callbacks published once dispatch reported their provider message.',
  dlr_callbacks_parked_expired_total:
    'Parked callbacks given up on after PARKED_EXPIRY_SECONDS (kept raw with the reason, not published).',
  dlr_callbacks_unmatched_total:
    'Mapped callbacks with neither our IDs nor a provider message ID: stored raw, not published.',
} as const;

type MetricName = keyof typeof HELP;

/** In-process counters of callbacks, rendered in the Prometheus text format. */
export class CallbackCounters {
  private readonly values = new Map<MetricName, Map<string, number>>();

  /** Starts every counter of these providers at 0, so they appear before the first callback. */
  constructor(providers: readonly string[]) {
    for (const name of Object.keys(HELP) as MetricName[]) this.values.set(name, new Map());
    for (const provider of providers) {
      this.add('dlr_callbacks_received_total', { provider }, 0);
      this.add('dlr_callbacks_unmapped_total', { provider }, 0);
      this.add('dlr_callbacks_parked_total', { provider }, 0);
      this.add('dlr_callbacks_released_total', { provider }, 0);
      this.add('dlr_callbacks_parked_expired_total', { provider }, 0);
      this.add('dlr_callbacks_unmatched_total', { provider }, 0);
      for (const reason of ['signature', 'malformed'] as const)
        this.add('dlr_callbacks_rejected_total', { provider, reason }, 0);
    }
  }

  /** Counts an authenticated, well-formed callback. */
  received(provider: string): void {
    this.add('dlr_callbacks_received_total', { provider }, 1);
  }

  /** Counts a callback whose type no mapping knows. */
  unmapped(provider: string): void {
    this.add('dlr_callbacks_unmapped_total', { provider }, 1);
  }

  /** Counts a callback parked until its provider message is known. */
  parked(provider: string): void {
    this.add('dlr_callbacks_parked_total', { provider }, 1);
  }

  /** Counts a parked callback that was published. */
  released(provider: string): void {
    this.add('dlr_callbacks_released_total', { provider }, 1);
  }

  /** Counts a parked callback that expired. */
  expired(provider: string): void {
    this.add('dlr_callbacks_parked_expired_total', { provider }, 1);
  }

  /** Counts a mapped callback that can never be correlated. */
  unmatched(provider: string): void {
    this.add('dlr_callbacks_unmatched_total', { provider }, 1);
  }

  /** Counts a refused callback. */
  rejected(provider: string, reason: RejectReason): void {
    this.add('dlr_callbacks_rejected_total', { provider, reason }, 1);
  }

  /** The current value of one series (for tests and logs). */
  value(name: MetricName, labels: Readonly<Record<string, string>>): number {
    return this.values.get(name)?.get(labelText(labels)) ?? 0;
  }

  /** Prometheus text exposition format (version 0.0.4). */
  render(): string {
    const lines: string[] = [];
    for (const [name, series] of this.values) {
      lines.push(`# HELP ${name} ${HELP[name]}`, `# TYPE ${name} counter`);
      for (const [labels, value] of series) lines.push(`${name}${labels} ${value}`);
    }
    return `${lines.join('\n')}\n`;
  }

  private add(name: MetricName, labels: Readonly<Record<string, string>>, by: number): void {
    const series = this.values.get(name);
    if (!series) return;
    const key = labelText(labels);
    series.set(key, (series.get(key) ?? 0) + by);
    // The one Prometheus registry of the process (served on /metrics by the platform).
    defineCounter(name, HELP[name], Object.keys(labels).sort()).inc(labels, by);
  }
}

function labelText(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}
