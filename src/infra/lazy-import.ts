/**
 * Loading a library only when a configured feature first needs it. The composition root and the
 * adapters import the heavy optional libraries (discord.js, mailauth, mailparser, imapflow,
 * agendash, nodemailer) through a loader made here instead of statically, so a bot that does not
 * use them neither waits for them at start-up nor keeps them in memory. (The PostgreSQL and
 * MongoDB queue backends are loaded the same way, in infra/agenda/create-agenda.ts.)
 */

/**
 * Loads run one after another: imports of modules that share dependencies, started together,
 * can fail in Jest's ESM loader ("request for … is not in cache"), and loads are rare anyway.
 */
let queue: Promise<unknown> = Promise.resolve();

/**
 * A loader that runs `load` (a dynamic `import()`) on its first call and gives every caller the
 * same module afterwards. A failed load is not remembered: the next call tries again. `load` must
 * not wait for another loader (loads are queued one after another).
 */
export function lazyImport<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () => {
    if (!pending) {
      const loading = queue.then(load);
      queue = loading.catch(() => undefined);
      pending = loading.catch((error: unknown) => {
        pending = null;
        throw error;
      });
    }
    return pending;
  };
}
