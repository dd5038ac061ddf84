// Run as a child process by lifecycle.test.ts: start an adapter against the fake, use it, stop it, close the
// fake, and then simply return. If anything of the adapter were still open, this process would not exit.
import { createFakeDiscord } from "./fake-discord.ts";
import { adapterFor, recordingContext } from "./helpers.ts";

const skipStop = process.argv.includes("--skip-stop");
const fake = await createFakeDiscord();
const adapter = adapterFor(fake);
const rec = recordingContext();
await adapter.start(rec.ctx);
await fake.inject({ chatType: "dm", chatId: "5800", userId: "2001", text: "ping" });
await rec.next();
await adapter.typing({ platform: "discord", account: "default", chatId: "5800" });
await adapter.send({ platform: "discord", account: "default", chatId: "5800" }, { text: "pong" });
if (!skipStop) await adapter.stop();
await fake.close();
process.stdout.write(`${JSON.stringify({ handles: process.getActiveResourcesInfo() })}\n`);
