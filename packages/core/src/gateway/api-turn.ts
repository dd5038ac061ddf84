import type { AgentProfile } from "../agents.ts";
import type { GatewayConfig } from "../config/load.ts";
import { AgentError } from "../errors.ts";
import { DEFAULT_ACCOUNT } from "../platform.ts";
import type { AgentEvent } from "../runner.ts";
import { buildSessionKey } from "../sessions/key.ts";
import type { SessionSource } from "../sessions/source.ts";
import { type AppendCreate, newSessionRecord, type SessionRecord } from "../sessions/store-types.ts";
import { Channel } from "./channel.ts";
import type { TurnLineage } from "./delegation.ts";
import { sessionOptions } from "./inbound/resolve.ts";
import type { Lanes } from "./lanes.ts";
import { getOrCreate, type SessionOpenDeps, sessionHooks } from "./open-session.ts";
import type { Replica } from "./replicas.ts";
import { runTurn, type StoreFirst, storedInput, type TurnDeps, toChatMessages } from "./turn.ts";
import type { TurnHandle, TurnRequest } from "./types.ts";

export interface ApiTurnDeps {
  turn: TurnDeps;
  sessions: SessionOpenDeps;
  lanes: Lanes;
  config: () => GatewayConfig;
  /** True once the gateway is shutting down: new turns are refused. */
  stopping: () => boolean;
  /** How many messages of history a turn loads when the caller sends none. */
  historyLimit: number;
  /** The replica's leases, when several share the store: a stored session's turns run one at a time across them. */
  replica?: Replica | undefined;
}

/**
 * A turn started by a program (the API server, cron, a delegating agent): admitted against budgets, placed on
 * its session's lane in call order, its session (and input) stored, then run once the turns before it ended.
 * The handle is returned as soon as the session is known; the events follow on it.
 */
export async function startApiTurn(
  deps: ApiTurnDeps,
  request: TurnRequest,
  lineage?: TurnLineage,
): Promise<TurnHandle> {
  const { store, ops } = deps.turn;
  const { lanes, historyLimit } = deps;
  if (deps.stopping())
    throw new AgentError(
      "shutting_down",
      "The gateway is shutting down; send the request again in a moment.",
    );
  const config = deps.config();
  const profile = config.registry.get(request.agentId);
  if (!profile) throw new AgentError("model_not_found", `agent "${request.agentId}" does not exist`);
  const source: SessionSource = { ...request.source, agentId: profile.id };
  const sessionKey = request.sessionKey ?? buildSessionKey(source, sessionOptions(config));
  const persist = request.persist ?? true;
  const persistInput = persist && request.persistInput !== false;

  // Take this turn's place on the session's lane before anything awaits, so turns keep their order.
  const place = lanes.join(sessionKey);
  const { previous, leave } = place;
  // Budgets and rate limits before anything is stored or the model is called (throws `TurnRefusedError`).
  let admission: Awaited<ReturnType<typeof ops.admit>>;
  try {
    admission = await ops.admit({
      agentId: profile.id,
      platform: source.platform,
      userId: source.userId,
      keyId: request.key?.id,
      keyBudget: request.key?.budget,
    });
  } catch (err) {
    leave();
    throw err;
  }
  // With nothing chained before it, the input can be stored in the same commit that opens the session.
  const inputFirst = place.first && persistInput && request.sessionId !== undefined;

  const model = profile.model.name ?? profile.model.provider;
  // Without replicas (another process could write the session meanwhile) and without a parent link.
  const deferCreate =
    persist &&
    !inputFirst &&
    request.history !== undefined &&
    request.prepare !== undefined &&
    !deps.replica &&
    !lineage;
  /** The session to create in the reply's commit (it did not exist when the turn started). */
  let create: AppendCreate | undefined;
  let session: SessionRecord;
  /** The stored ids of the input when it was stored with the session; they are not history. */
  let inputIds: ReadonlySet<number> = new Set();
  /** Whether `session` was read in the commit that stored it (not after session hooks that may write). */
  let fresh = false;
  try {
    if (request.sessionId !== undefined && !persist) {
      // Nothing of this turn is stored (a plain model, `store: false`): not even an empty session row.
      session =
        (await store.get(request.sessionId)) ??
        transientSession(request.sessionId, sessionKey, source, profile);
    } else if (request.sessionId !== undefined && deferCreate) {
      // Nothing reads the stored transcript before the reply (the body carries the history), so a session
      // that does not exist yet is created in the reply's commit: one commit for the whole turn.
      const stored = await store.get(request.sessionId);
      if (stored && stored.agentId === profile.id) session = stored;
      else if (stored) {
        // Another agent's id: `ensure` refuses it with the error the caller sees.
        session = (await store.ensure(request.sessionId, sessionKey, source, { model })).session;
      } else {
        const now = Date.now();
        // The row as the store will write it.
        session = {
          ...transientSession(request.sessionId, sessionKey, source, profile, now),
          platform: source.platform || null,
          account: source.account || DEFAULT_ACCOUNT,
        };
        create = { sessionKey, source, model, now };
      }
      fresh = true;
    } else if (request.sessionId !== undefined) {
      const sessionId = request.sessionId;
      // Session and input share one group commit with whatever else is being written right now.
      const ensured = await store.ensure(sessionId, sessionKey, source, {
        model,
        ...(lineage ? { parentSessionId: lineage.parentSessionId } : {}),
        ...(inputFirst ? { append: storedInput(request.input) } : {}),
      });
      session = ensured.session;
      inputIds = new Set(ensured.messageIds);
      fresh = true;
    } else {
      const opened = await getOrCreate(deps.sessions, sessionKey, source, profile);
      await sessionHooks(deps.turn.hooks, opened, sessionKey, source, profile);
      session = opened.session;
    }
  } catch (err) {
    admission.release();
    leave();
    throw err;
  }
  const controller = new AbortController();
  const onAbort = () => controller.abort(request.signal?.reason);
  if (request.signal?.aborted) controller.abort(request.signal.reason);
  else request.signal?.addEventListener("abort", onAbort, { once: true });

  const out = new Channel<AgentEvent>();
  void (async () => {
    try {
      await previous;
      const run = async () => {
        // `session` was read in the commit that opened it and, first on the lane, nothing of this gateway has
        // written to it since (only microtasks ran in between): an empty session need not be read again. With
        // replicas another process may have written to it meanwhile, so it is read.
        const known = { empty: !deps.replica && fresh && place.first && session.messageCount === 0 };
        const edit = persist ? await request.prepare?.(session, known) : undefined;
        let storeFirst: StoreFirst | undefined;
        if (edit && (edit.rewindAfter !== undefined || edit.input.length > 0)) {
          const write: StoreFirst = {
            ...(edit.rewindAfter !== undefined ? { rewindAfter: edit.rewindAfter } : {}),
            input: storedInput(edit.input),
          };
          // With the history in the request nothing reads the stored transcript before the reply: the edit
          // joins the reply's commit (one commit a turn, not two). A crash before it loses only a turn whose
          // caller never got an answer.
          if (request.history) storeFirst = write;
          else await store.append(session.id, write.input, write);
        }
        const history =
          request.history ??
          toChatMessages(
            (await store.history(session.id, historyLimit + inputIds.size))
              .filter((m) => !inputIds.has(m.id))
              .slice(-historyLimit),
          );
        // The turn pushes straight into the handle's channel, closed below once the reply is stored.
        const { finished } = runTurn(deps.turn, {
          profile,
          session,
          source,
          history,
          input: request.input,
          ...(request.extraSystem ? { extraSystem: request.extraSystem } : {}),
          controller,
          persistInput: persistInput && !inputFirst,
          persistReply: persist,
          ...(storeFirst ? { storeFirst } : {}),
          ...(create ? { create } : {}),
          events: out,
          route: lineage
            ? { kind: "parent", approve: lineage.approve }
            : source.platform === "cron"
              ? { kind: "deny", by: "cron" }
              : request.approvals === "wait"
                ? { kind: "events" }
                : { kind: "deny", by: "unattended" },
          ...(lineage ? { lineage } : {}),
          extra: {
            ...(request.clientTools?.length ? { clientTools: request.clientTools } : {}),
            ...(request.generation ? { generation: request.generation } : {}),
            ...(request.plain ? { plain: true } : {}),
            ...(request.stream === false ? { stream: false } : {}),
          },
          admission,
        });
        await finished;
      };
      // Across replicas too: one turn of the session at a time.
      await (deps.replica && persist ? deps.replica.withSession(sessionKey, run) : run());
    } catch (err) {
      admission.release();
      out.push({
        type: "error",
        message: err instanceof Error ? err.message : String(err),
        code: "internal_error",
      });
    } finally {
      out.close();
      request.signal?.removeEventListener("abort", onAbort);
      leave();
    }
  })();
  return {
    agentId: profile.id,
    sessionId: session.id,
    sessionKey,
    events: out,
    abort: (reason) => controller.abort(new Error(reason ?? "aborted")),
  };
}

/** A session record that exists only for the duration of an unstored turn. */
function transientSession(
  id: string,
  sessionKey: string,
  source: SessionSource,
  profile: AgentProfile,
  now = Date.now(),
): SessionRecord {
  return newSessionRecord(
    {
      id,
      sessionKey,
      agentId: profile.id,
      platform: source.platform,
      account: source.account ?? null,
      chatId: source.chatId ?? null,
      chatType: source.chatType ?? null,
      threadId: source.threadId ?? null,
      userId: source.userId ?? null,
      model: profile.model.name ?? profile.model.provider,
    },
    now,
  );
}
