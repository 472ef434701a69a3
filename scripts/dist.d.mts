export declare const ROOT: string;
export declare const STAMP: string;
export declare const BUILT_CLI: string;
/** Whether dist/ was built from the sources as they are now (its stamp is at least as new as every source). */
export declare function distIsFresh(): boolean;
