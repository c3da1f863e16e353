export declare const DYNAMODB_LOCAL_DIR: string;
export declare const ensureDynamoDbLocal: () => string;
export declare const startDynamoDbLocal: () => Promise<{ readonly endpoint: string; stop(): Promise<void> }>;
