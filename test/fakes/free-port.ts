/** A free TCP port on 127.0.0.1, for servers the tests start as separate processes. */
import { createServer } from 'node:net';

/** Asks the OS for a free port and releases it just before the caller's server takes it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}
