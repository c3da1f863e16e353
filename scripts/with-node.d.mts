export declare const newestVersion: (versions: string | readonly string[]) => string | undefined;
export declare const ensureNode: (major: string) => string;
