export declare const ensureFuzzToolchain: () => { readonly found: string } | { readonly reason: string };
