import { describeOperationLogContract } from '../contracts/operation-log.contract.js';
import { describeRuntimeRecordStoreContract } from '../contracts/runtime-record-store.contract.js';
import { InMemoryOperationLog } from '../fakes/in-memory-operation-log.js';
import { InMemoryRuntimeRecordStore } from '../fakes/in-memory-runtime-record-store.js';

describeRuntimeRecordStoreContract('in-memory fake', () => Promise.resolve({ port: new InMemoryRuntimeRecordStore(), cleanup: () => Promise.resolve() }));

describeOperationLogContract('in-memory fake', () => Promise.resolve({ port: new InMemoryOperationLog(), cleanup: () => Promise.resolve() }));
