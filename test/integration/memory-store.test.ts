import { MemoryStore } from '../fakes/memory-store.js';
import { storeContract } from './store-contract.js';

storeContract(
  'in-memory fake',
  async () => new MemoryStore(),
  (store) => store.close(),
);
