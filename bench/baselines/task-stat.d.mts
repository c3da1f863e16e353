/** The fields of a thread's /proc stat line after its command name (state first); undefined once it has ended. */
export declare const taskStatFields: (tid: string) => string[] | undefined;
