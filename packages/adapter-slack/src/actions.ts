import type { ChatType, InboundMessage, OutboundAction } from "@switchboard/core";
import { PLATFORM } from "./types.ts";

/** Action ids of our buttons; the button's `value` is the command it sends back. */
export const ACTION_ID_PATTERN = /^switchboard_action_\d+$/;

/**
 * Block Kit for a message with buttons: the text as a section, the actions as one row of buttons.
 * `text` stays on the message too, as the notification and fallback.
 * @see https://docs.slack.dev/reference/block-kit/block-elements/button-element
 */
export function actionBlocks(mrkdwn: string, actions: readonly OutboundAction[]): unknown[] {
  return [
    { type: "section", text: { type: "mrkdwn", text: mrkdwn.slice(0, 3000) } },
    {
      type: "actions",
      elements: actions.slice(0, 25).map((a, i) => ({
        type: "button",
        action_id: `switchboard_action_${i}`,
        text: { type: "plain_text", text: a.label.slice(0, 75) },
        value: a.command.slice(0, 2000),
        ...(a.style ? { style: a.style } : {}),
      })),
    },
  ];
}

/** The parts of a `block_actions` payload a button press needs. */
interface BlockActionsBody {
  type?: string;
  user?: { id?: string; name?: string; username?: string };
  channel?: { id?: string };
  container?: { channel_id?: string; message_ts?: string; thread_ts?: string };
  message?: { ts?: string; thread_ts?: string };
  team?: { id?: string } | null;
  actions?: Array<{ action_id?: string; value?: string; action_ts?: string }>;
}

/**
 * A press on one of our buttons as the command it carries, from the user who pressed it, in the
 * channel (and thread) of the message it sits under.
 * @see https://docs.slack.dev/reference/interaction-payloads/block_actions-payload
 */
export function normalizeAction(raw: unknown, account: string): InboundMessage | undefined {
  const body = raw as BlockActionsBody;
  if (body?.type !== "block_actions") return undefined;
  const action = body.actions?.find((a) => a.action_id !== undefined && ACTION_ID_PATTERN.test(a.action_id));
  const channel = body.channel?.id ?? body.container?.channel_id;
  const user = body.user?.id;
  if (!action?.value?.startsWith("/") || !channel || !user) return undefined;
  const threadTs = body.message?.thread_ts ?? body.container?.thread_ts;
  const name = body.user?.name ?? body.user?.username;
  const type: ChatType = channel.startsWith("D") ? "dm" : "group";
  return {
    platform: PLATFORM,
    account,
    messageId: `action:${action.action_ts ?? body.container?.message_ts ?? Date.now()}:${user}`,
    chat: { id: channel, type },
    user: { id: user, ...(name ? { name } : {}) },
    text: action.value,
    mentionsBot: true,
    ...(threadTs ? { threadId: threadTs } : {}),
    ...(body.team?.id ? { guildId: body.team.id } : {}),
  };
}
