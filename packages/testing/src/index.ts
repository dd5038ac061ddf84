export * from "./adapter-host.ts";
export * from "./conformance.ts";
export * from "./conformance-types.ts";
export * from "./echo-runner.ts";
export * from "./http-bridge.ts";
export * from "./sent-log.ts";
export * from "./stub-llm.ts";
export * from "./test-platform.ts";
