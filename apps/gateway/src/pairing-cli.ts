import {
  approvePairing,
  denyPairing,
  listPairing,
  type PairingOverview,
  revokePairing,
  type SessionStore,
  userTarget,
} from "@switchboard/core";
import type { Command } from "commander";
import type { CliHelpers } from "./cron-cli.ts";
import { cliActor } from "./operate-cli.ts";
import { printJson, table } from "./output.ts";
import { withExistingStore } from "./sessions-cli.ts";

const at = (ms: number) => new Date(ms).toISOString();

function printOverview(o: PairingOverview, now: number): void {
  const pending = o.pending.length
    ? table(
        ["CODE", "USER", "NAME", "ASKED", "EXPIRES IN"],
        o.pending.map((r) => [
          r.code,
          userTarget(r),
          r.userName ?? "",
          at(r.createdAt),
          `${Math.max(1, Math.ceil((r.expiresAt - now) / 60_000))} min`,
        ]),
      )
    : "No pending pairing requests.";
  const approved = o.approved.length
    ? table(
        ["USER", "NAME", "APPROVED", "BY"],
        o.approved.map((a) => [userTarget(a), a.userName ?? "", at(a.approvedAt), a.approvedBy]),
      )
    : "No paired users.";
  process.stdout.write(`${pending}\n\n${approved}\n`);
}

/**
 * `switchboard pairing list | approve <code> | deny <code> | revoke <platform> <user>`: the operator's answer
 * to strangers' pairing codes, written to the home's state.db (a running gateway sees it on the next message)
 * and to the audit log.
 */
export function registerPairingCommands(program: Command, h: CliHelpers): void {
  const pairing = program
    .command("pairing")
    .description("strangers' pairing codes (dm_policy: pairing): list, approve, deny, revoke");
  const run = async <T>(cmd: Command, fn: (store: SessionStore) => Promise<T>): Promise<T> => {
    const cfg = await h.loadOrExit(h.globals(cmd));
    return withExistingStore(cfg, h.fail, async (store) => {
      try {
        return await fn(store);
      } catch (err) {
        h.fail(err);
      }
    });
  };

  pairing
    .command("list")
    .description("pending codes and paired users")
    .option("--platform <name>", "only this platform (telegram, or telegram@account)")
    .option("--json")
    .action(async (o: { platform?: string }, cmd: Command) => {
      const now = Date.now();
      const overview = await run(cmd, (s) => listPairing(s, o.platform, now));
      if (h.globals(cmd).json) return printJson(overview);
      printOverview(overview, now);
    });

  pairing
    .command("approve <code>")
    .description("let the user who was given <code> talk to the bot (at once, no restart)")
    .option("--json")
    .action(async (code: string, _o, cmd: Command) => {
      const approval = await run(cmd, (s) => approvePairing(s, code, cliActor()));
      if (h.globals(cmd).json) return printJson(approval);
      process.stdout.write(
        `Approved ${userTarget(approval)}${approval.userName ? ` (${approval.userName})` : ""}: their next message is answered.\n`,
      );
    });

  pairing
    .command("deny <code>")
    .description("refuse a pending code")
    .option("--json")
    .action(async (code: string, _o, cmd: Command) => {
      const request = await run(cmd, (s) => denyPairing(s, code, cliActor()));
      if (h.globals(cmd).json) return printJson(request);
      process.stdout.write(`Denied ${request.code} of ${userTarget(request)}.\n`);
    });

  pairing
    .command("revoke <platform> <user>")
    .description("take a paired user's approval back (telegram: every account; telegram@work: that one)")
    .option("--json")
    .action(async (platform: string, user: string, _o, cmd: Command) => {
      const removed = await run(cmd, (s) => revokePairing(s, platform, user, cliActor()));
      if (h.globals(cmd).json) return printJson({ platform, user, removed });
      process.stdout.write(`Revoked ${platform}:${user}: their next message is refused or asked to pair.\n`);
    });
}
