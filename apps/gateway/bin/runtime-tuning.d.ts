export declare const TUNED_MARK: "SWITCHBOARD_RUNTIME_TUNED";
export declare const SEMI_SPACE_MB: number;
export declare const MMAP_THRESHOLD_BYTES: number;
export declare function runtimeTuning(
  execArgv: readonly string[],
  env: Record<string, string | undefined>,
  options?: { glibc?: boolean },
): { flags: string[]; env: Record<string, string> } | undefined;
export declare function commandOf(args: readonly string[]): string | undefined;
export declare function restoreEnvironment(env: Record<string, string | undefined>): void;
