import { infraEnv, isolation as isolate } from '@dlr/testing';

export { eventually, messageCount, storedEvents } from '@dlr/testing';

/** Per-file isolation: a database name and a NATS namespace of our own. */
export const isolation = () => isolate('pc');

/** The URLs of the shared test servers (set by the global setup, or by hand). */
export const serverUrls = () => infraEnv();
