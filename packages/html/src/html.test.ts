import { describe, expect, it } from 'vitest';
import { escapeHtml, html, isSafeHtml, join, raw, type SafeHtml } from './index.js';

const PAYLOAD = `"><script>alert('x')</script><img src=x onerror=alert(1)> &amp;`;
const ESCAPED = '&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &amp;amp;';

describe('escapeHtml', () => {
  it('escapes the five characters that matter in text and quoted attributes, and nothing else', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    expect(escapeHtml('plain text — ok ✓')).toBe('plain text — ok ✓');
  });
});

describe('html', () => {
  it('keeps the literal markup and escapes text in element bodies (XSS as text)', () => {
    const page = html`<p class="x">${PAYLOAD}</p>`;
    expect(String(page)).toBe(`<p class="x">${ESCAPED}</p>`);
    expect(String(page)).not.toContain('<script>');
  });

  it('escapes in a double-quoted attribute, so a value cannot close it and add a handler', () => {
    const value = `x" onmouseover="alert(1)`;
    expect(String(html`<input value="${value}">`)).toBe('<input value="x&quot; onmouseover=&quot;alert(1)">');
  });

  it('escapes in a single-quoted attribute, so a value cannot close it either', () => {
    const value = `x' autofocus onfocus='alert(1)`;
    expect(String(html`<input value='${value}'>`)).toBe(`<input value='x&#39; autofocus onfocus=&#39;alert(1)'>`);
  });

  it('nests html without escaping it twice, and escapes what the inner template interpolated', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(String(html`<p>${inner}</p>`)).toBe('<p><b>&lt;i&gt;</b></p>');
  });

  it('joins arrays (of markup and of text) without separator, escaping the text', () => {
    const rows = ['a&b', '<c>'].map((v) => html`<li>${v}</li>`);
    expect(String(html`<ul>${rows}</ul>`)).toBe('<ul><li>a&amp;b</li><li>&lt;c&gt;</li></ul>');
    expect(String(html`${['<', html`<br>`, ['>']]}`)).toBe('&lt;<br>&gt;');
    expect(String(html`<ul>${[]}</ul>`)).toBe('<ul></ul>');
  });

  it('renders nothing for undefined, null and false, and numbers as text', () => {
    const shown = false;
    expect(String(html`[${undefined}${null}${shown && html`<b>x</b>`}${0}${12.5}${10n}]`)).toBe('[0' + '12.5' + '10]');
  });

  it('escapes an object that only looks like SafeHtml (the brand cannot be forged)', () => {
    const fake = { toString: () => '<script>alert(1)</script>' } as unknown as SafeHtml;
    expect(isSafeHtml(fake)).toBe(false);
    expect(String(html`${fake}`)).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});

describe('raw and join', () => {
  it('raw passes constant markup through as it is, and marks it safe', () => {
    const icon = raw('<svg><path d="M1 1"/></svg>');
    expect(isSafeHtml(icon)).toBe(true);
    expect(String(html`<span>${icon}</span>`)).toBe('<span><svg><path d="M1 1"/></svg></span>');
  });

  it('join puts a markup separator between escaped values', () => {
    expect(String(join(['a', '<b>', html`<i>c</i>`], html`<br>`))).toBe('a<br>&lt;b&gt;<br><i>c</i>');
    expect(String(join(['x', 'y']))).toBe('xy');
  });
});
