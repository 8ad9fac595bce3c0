// instances.mjs -- what the PostgreSQL suites with several daemons share: the daemon helpers of
// tests/integration/lib/daemon.mjs aimed at the throwaway server (TT_PG_URL is set before they
// read it; reads wait for the spool to be shipped), and 'daemons', cleaned up after the file.

import { after } from 'node:test';
import { testServer } from './pg.mjs';

process.env.TT_PG_URL ??= testServer().url;
process.env.TELLTALE_TEST_STORE = 'postgres';

export const lib = await import('../../integration/lib/daemon.mjs');
export const daemons = [];

after(async () => {
  for (const d of daemons) {
    await d.cleanup();
  }
});
