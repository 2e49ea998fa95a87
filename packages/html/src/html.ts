// Server-rendered markup is built only with `html`: whatever is interpolated is escaped unless it is
// already SafeHtml, so forgetting to escape is not possible and marking something raw is visible.

/**
 * Markup that is safe to send as it is: made by {@link html} or, explicitly, by {@link raw}. The class
 * is not exported, so nothing else can brand a string (a look-alike object is escaped like any text).
 */
class Markup {
  readonly #markup: string;

  constructor(markup: string) {
    this.#markup = markup;
  }

  /** The markup, for the response body. */
  toString(): string {
    return this.#markup;
  }
}

/** Markup that is safe to send as it is (see {@link html}); `String(value)` gives the text. */
export type SafeHtml = Markup;

/** True when `value` was made by {@link html} or {@link raw}. */
export function isSafeHtml(value: unknown): value is SafeHtml {
  return value instanceof Markup;
}

/**
 * What may be interpolated: text and numbers (escaped), SafeHtml (as it is), arrays of these (joined
 * without separator), and `false`/`null`/`undefined` (nothing, so `cond && html\`…\`` works).
 */
export type Interpolation = SafeHtml | string | number | bigint | false | null | undefined | readonly Interpolation[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes text for an element body or a single- or double-quoted attribute value (`& < > " '`).
 * Unquoted attributes, URLs in `href` and script/style bodies need more than this: keep them out of
 * templates or validate the value first.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

function render(value: Interpolation): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof Markup) return value.toString();
  if (Array.isArray(value)) return (value as readonly Interpolation[]).map(render).join('');
  return escapeHtml(String(value));
}

/** Tagged template: the literal parts are markup, every `${value}` is rendered by the rules of {@link Interpolation}. */
export function html(strings: TemplateStringsArray, ...values: readonly Interpolation[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Markup(out);
}

/** Marks `markup` as safe without escaping it: only for constant markup the code itself owns (icons, styles). */
export function raw(markup: string): SafeHtml {
  return new Markup(markup);
}

/** Renders each value and puts `separator` between them: `join(lines, html\`<br>\`)`. */
export function join(values: readonly Interpolation[], separator?: SafeHtml): SafeHtml {
  return new Markup(values.map(render).join(separator === undefined ? '' : separator.toString()));
}
