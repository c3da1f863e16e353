export declare const ensureChromium: () => { readonly path: string } | { readonly reason: string };
