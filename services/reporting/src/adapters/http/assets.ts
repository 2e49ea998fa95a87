// The one script of the report pages, served at /assets/report.js: live updates over server-sent
// events, Copy IDs and the timeline dialog (the pages work without it). Its source is the TypeScript
// file src/browser/report.ts, bundled at build time into the checked-in src/gen/report-script.ts.
export { REPORT_SCRIPT } from '../../gen/report-script.js';
