import type { InboundMessage, NativeCommand } from "@switchboard/core";
import type { ChatInputCommandInteraction } from "discord.js";
import { interactionInbound } from "./buttons.ts";

/** The free-text option every command takes (`/model gpt-4.1`). */
const ARGS_OPTION = "args";
/** CHAT_INPUT commands, STRING options. */
const CHAT_INPUT = 1;
const STRING = 3;

/**
 * The gateway's command table as global application commands (the `/` menu), each with one optional
 * free-text `args` option. Names Discord would refuse are left out.
 * @see https://discord.com/developers/docs/interactions/application-commands#application-command-object
 */
export function applicationCommands(commands: readonly NativeCommand[]): unknown[] {
  return commands
    .filter((c) => /^[-_a-z0-9]{1,32}$/.test(c.name) && c.description.trim())
    .slice(0, 100)
    .map((c) => ({
      type: CHAT_INPUT,
      name: c.name,
      description: c.description.trim().slice(0, 100),
      options: [
        { type: STRING, name: ARGS_OPTION, description: "What follows the command", required: false },
      ],
    }));
}

/** A slash command a user ran, as the text they would have typed (`/model gpt-4.1`), in its channel. */
export function normalizeCommand(interaction: ChatInputCommandInteraction, account: string): InboundMessage {
  const args = interaction.options.getString(ARGS_OPTION)?.trim();
  return interactionInbound(interaction, account, `/${interaction.commandName}${args ? ` ${args}` : ""}`);
}
