/**
 * Discord wire objects as the fake sends them (users, channels, messages, GUILD_CREATE), shaped so that
 * discord.js caches them the way it does real ones.
 * @see https://discord.com/developers/docs/resources/message#message-object
 */

export interface FakeBot {
  account: string;
  token: string;
  id: string;
  username: string;
}

/** A channel the fake knows: guild text (0), DM (1) or public thread (11). */
export interface FakeChannel {
  id: string;
  type: number;
  name: string;
  guildId?: string;
  parentId?: string;
  recipientId?: string;
  /** Who opened a thread. */
  ownerId?: string;
}

export const DEFAULT_GUILD_ID = "300000000000000001";
export const DEFAULT_CHANNEL_ID = "400000000000000001";
const DISCORD_EPOCH = 1420070400000n;

export const DEFAULT_BOTS: FakeBot[] = [
  { account: "default", token: "fake-token-default", id: "100000000000000001", username: "switchbot" },
  { account: "second", token: "fake-token-second", id: "100000000000000002", username: "secondbot" },
];

let increment = 0n;
/** A fresh snowflake: discord.js derives timestamps from ids, so they must be real ones. */
export function snowflake(): string {
  increment = (increment + 1n) & 0xfffn;
  return (((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | increment).toString();
}

export function userObject(u: { id: string; username: string; bot?: boolean; globalName?: string | null }) {
  return {
    id: u.id,
    username: u.username,
    discriminator: "0",
    global_name: u.globalName ?? null,
    avatar: null,
    ...(u.bot ? { bot: true } : {}),
  };
}

export function botUser(bot: FakeBot) {
  return userObject({ ...bot, bot: true });
}

export function channelObject(c: FakeChannel) {
  if (c.type === 1) {
    return {
      id: c.id,
      type: 1,
      last_message_id: null,
      recipients: [userObject({ id: c.recipientId ?? "0", username: "user" })],
    };
  }
  const base = {
    id: c.id,
    type: c.type,
    name: c.name,
    guild_id: c.guildId,
    position: 0,
    permission_overwrites: [],
  };
  if (c.type !== 11) return base;
  return {
    ...base,
    parent_id: c.parentId,
    owner_id: c.ownerId ?? "1",
    message_count: 0,
    member_count: 1,
    thread_metadata: {
      archived: false,
      auto_archive_duration: 1440,
      archive_timestamp: new Date().toISOString(),
      locked: false,
    },
  };
}

export function messageObject(
  author: ReturnType<typeof userObject>,
  channelId: string,
  content: string,
  extra: Record<string, unknown> = {},
) {
  return {
    id: snowflake(),
    channel_id: channelId,
    author,
    content,
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [] as unknown[],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    type: 0,
    ...extra,
  };
}

export function memberObject() {
  return { roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 };
}

/** A full GUILD_CREATE: discord.js drops messages for guilds and channels it has not cached from one. */
export function guildCreatePayload(guildId: string, name: string, channels: FakeChannel[]) {
  return {
    id: guildId,
    name,
    icon: null,
    owner_id: "1",
    unavailable: false,
    member_count: 2,
    large: false,
    joined_at: new Date().toISOString(),
    roles: [
      {
        id: guildId,
        name: "@everyone",
        permissions: "1071698660929",
        position: 0,
        color: 0,
        hoist: false,
        managed: false,
        mentionable: false,
      },
    ],
    emojis: [],
    stickers: [],
    features: [],
    members: [],
    presences: [],
    voice_states: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
    channels: channels.filter((c) => c.guildId === guildId && c.type !== 11).map((c) => channelObject(c)),
    threads: channels.filter((c) => c.guildId === guildId && c.type === 11).map((c) => channelObject(c)),
  };
}
