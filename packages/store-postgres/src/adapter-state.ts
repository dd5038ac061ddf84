import type { AdapterStateStore } from "@switchboard/core";
import type { Pool } from "./pool.ts";

const PREFIX = "adapter:";

/**
 * Adapters' small durable state (Telegram's update offset) in `kv`, shared by every replica: the one that
 * takes an account over resumes where the last holder stopped.
 */
export function adapterStateStore(pool: Pool): AdapterStateStore {
  return {
    async get(key) {
      const r = await pool.query<{ value: string | null }>({
        name: "sb_adapter_state_get",
        text: "SELECT value FROM kv WHERE key = $1",
        values: [PREFIX + key],
      });
      return r.rows[0]?.value ?? undefined;
    },
    async set(key, value) {
      await pool.query({
        name: "sb_adapter_state_set",
        text: "INSERT INTO kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        values: [PREFIX + key, value],
      });
    },
  };
}
