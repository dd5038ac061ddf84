export type { ConsoleHandler, ConsoleHost } from "@switchboard/core";
