// Public entry point of @dlr/html: one tagged template for every server-rendered page. No dependencies
// and no I/O, so domain code that builds a page can use it.
export { escapeHtml, html, isSafeHtml, join, raw, type Interpolation, type SafeHtml } from './html.js';
