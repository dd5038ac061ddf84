export { createConsole } from "./console.ts";
export type { ConsoleHandler, ConsoleHost } from "./host.ts";
export type { TurnRecord } from "./live-feed.ts";
