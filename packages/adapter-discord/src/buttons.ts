import type { InboundMessage, OutboundMessage } from "@switchboard/core";
import type { ButtonInteraction, ChatInputCommandInteraction } from "discord.js";
import { PLATFORM } from "./types.ts";

/** Discord button styles: Primary 1, Secondary 2, Danger 4. */
const STYLE = { primary: 1, danger: 4 } as const;
const SECONDARY = 2;

/**
 * An action row of buttons for a message's actions, on its last chunk only; each button's `custom_id`
 * is the command it sends back (at most 100 characters, Discord's cap).
 * @see https://discord.com/developers/docs/components/reference#button
 */
export function componentsOf(message: OutboundMessage): unknown[] | undefined {
  if (!message.actions?.length) return undefined;
  if (message.part && message.part.index !== message.part.count - 1) return undefined;
  const buttons = message.actions
    .filter((a) => a.command.length <= 100)
    .slice(0, 5)
    .map((a) => ({
      type: 2,
      style: a.style ? STYLE[a.style] : SECONDARY,
      label: a.label.slice(0, 80),
      custom_id: a.command,
    }));
  return buttons.length ? [{ type: 1, components: buttons }] : undefined;
}

/** A press on one of our buttons as the command it carries, from the presser, in the channel (or thread) of its message. */
export function normalizeButton(interaction: ButtonInteraction, account: string): InboundMessage | undefined {
  const text = interaction.customId;
  if (!text.startsWith("/")) return undefined;
  return interactionInbound(interaction, account, text);
}

/** An interaction (a button press, a slash command) as the message `text` its user sent, where they sent it. */
export function interactionInbound(
  interaction: ButtonInteraction | ChatInputCommandInteraction,
  account: string,
  text: string,
): InboundMessage {
  const channel = interaction.channel;
  const inbound: InboundMessage = {
    platform: PLATFORM,
    account,
    messageId: `interaction:${interaction.id}`,
    chat: { id: interaction.channelId, type: interaction.inGuild() ? "group" : "dm" },
    user: {
      id: interaction.user.id,
      isBot: interaction.user.bot,
      name: interaction.user.globalName ?? interaction.user.username,
    },
    text,
    mentionsBot: true,
  };
  if (channel?.isThread()) {
    inbound.chat.type = "thread";
    inbound.threadId = channel.id;
    if (channel.parentId) inbound.parentChatId = channel.parentId;
  }
  if (interaction.guildId) inbound.guildId = interaction.guildId;
  return inbound;
}
