import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { createStateTable } from '#adapters/aws/dynamodb-state-store.ts';
import { startDynamoDbLocal } from '../../scripts/dynamodb-local.mjs';

export interface DynamoDbLocal {
  /** A client for the emulator on loopback (dummy credentials; nothing leaves the machine). */
  client(): DynamoDBClient;
  /** A new, empty state table. */
  newStateTable(): Promise<string>;
  /** Where the emulator listens (for processes that take AWS_ENDPOINT_URL_DYNAMODB). */
  endpoint(): string;
}

/**
 * Starts DynamoDB Local (AWS's emulator, fetched by `npm ci`) for the test file and stops it afterwards.
 * Each test takes its own table, so tests in a file do not see each other's state.
 */
export const useDynamoDbLocal = (): DynamoDbLocal => {
  let server: Awaited<ReturnType<typeof startDynamoDbLocal>> | undefined;
  let ddb: DynamoDBClient | undefined;
  let tables = 0;
  beforeAll(async () => {
    server = await startDynamoDbLocal();
    ddb = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  });
  afterAll(async () => {
    ddb?.destroy();
    await server?.stop();
  });
  const client = (): DynamoDBClient => {
    if (ddb === undefined) throw new Error('DynamoDB Local is not running (use it inside a test)');
    return ddb;
  };
  return {
    client,
    endpoint: () => server?.endpoint ?? '',
    async newStateTable() {
      const name = `kdm-state-${++tables}`;
      await createStateTable(client(), name);
      return name;
    },
  };
};
