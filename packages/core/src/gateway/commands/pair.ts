import {
  approvePairing,
  denyPairing,
  PairingError,
  revokePairing,
  userTarget,
} from "../../pairing/operations.ts";
import { DEFAULT_ACCOUNT } from "../../platform.ts";
import type { CommandHandler } from "./context.ts";

const USAGE = "Usage: /pair [list] | approve <code> | deny <code> | revoke <user id>";

/**
 * `/pair` (admins): the pending pairing codes and paired users of this platform account, and their answers.
 * An admin of one account answers that account's codes only.
 */
export const pair: CommandHandler = async (args, ctx) => {
  const platform = ctx.source.platform;
  const account = ctx.source.account ?? DEFAULT_ACCOUNT;
  if (!platform) return "Pairing is for platform chats.";
  const actor = ctx.actor ?? `${platform}:${ctx.source.userId ?? "?"}`;
  const [verb = "list", arg] = args.split(/\s+/).filter(Boolean);
  const here = { platform, account };
  try {
    if (verb === "list") {
      const [pending, approved] = await Promise.all([
        ctx.store.pairing.pending(here),
        ctx.store.pairing.approved(here),
      ]);
      const lines = [
        pending.length ? "Waiting for approval:" : "No pending pairing codes.",
        ...pending.map((r) => `${r.code}  ${r.userId}${r.userName ? ` (${r.userName})` : ""}`),
        approved.length ? "Paired:" : "No paired users.",
        ...approved.map((a) => `${a.userId}${a.userName ? ` (${a.userName})` : ""} by ${a.approvedBy}`),
      ];
      return lines.join("\n");
    }
    if ((verb === "approve" || verb === "deny") && arg) {
      const mine = (await ctx.store.pairing.pending(here)).find((r) => r.code === arg.toUpperCase());
      if (!mine)
        return `No pending pairing code ${arg.toUpperCase()} on this account (it may have expired; /pair list shows the live ones).`;
      if (verb === "approve") {
        const a = await approvePairing(ctx.store, arg, actor);
        // Telling them is a courtesy: the approval stands whether or not the message arrives.
        await ctx
          .tellDm?.(mine.chatId, "The owner approved you: write again and you will be answered.")
          .catch(() => {});
        return `Approved ${userTarget(a)}${a.userName ? ` (${a.userName})` : ""}: their next message is answered.`;
      }
      const r = await denyPairing(ctx.store, arg, actor);
      return `Denied ${r.code} of ${userTarget(r)}.`;
    }
    if (verb === "revoke" && arg) {
      const target = account === DEFAULT_ACCOUNT ? platform : `${platform}@${account}`;
      await revokePairing(ctx.store, target, arg, actor);
      return `Revoked ${target}:${arg}.`;
    }
  } catch (err) {
    if (err instanceof PairingError) return err.message;
    throw err;
  }
  return USAGE;
};
