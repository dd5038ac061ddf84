import type { ServerResponse } from "node:http";

export const SERVER_NAME = "fake.local";

/** A room event as `/sync` carries it. */
export interface MatrixEventJson {
  type: string;
  event_id: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
  unsigned?: Record<string, unknown>;
}

interface RoomRecord {
  id: string;
  /** Current state by `type \0 state_key`. */
  state: Map<string, MatrixEventJson>;
  /** Every timeline event, for initial syncs. */
  timeline: MatrixEventJson[];
}

type Update =
  | { kind: "timeline"; roomId: string; event: MatrixEventJson }
  | { kind: "invite"; roomId: string };

/** One bot's `/sync` stream: what it has not fetched yet, and the long poll parked waiting for it. */
interface Stream {
  userId: string;
  batch: number;
  pending: Update[];
  /** Rooms this bot has received (a newly joined room is sent with its full state). */
  known: Set<string>;
  parked: { res: ServerResponse; timer: NodeJS.Timeout } | undefined;
  /** The latest `since` the bot sent: everything before it was processed. */
  acked: number;
  /** The latest batch that carried anything. */
  eventful: number;
  drainWaiters: Set<() => void>;
}

const DEFAULT_TIMELINE_LIMIT = 10;

/** Rooms, membership and per-bot `/sync` streams of the fake homeserver. */
export class FakeRooms {
  /** When set, the initial sync sends history even if its filter asks for `timeline.limit: 0`. */
  ignoreInitialTimelineLimit = false;
  readonly #rooms = new Map<string, RoomRecord>();
  readonly #streams = new Map<string, Stream>();
  readonly #filters = new Map<string, unknown>();
  readonly #accountData = new Map<string, Map<string, Record<string, unknown>>>();
  #seq = 0;

  constructor(botUserIds: string[]) {
    for (const userId of botUserIds) {
      this.#streams.set(userId, {
        userId,
        batch: 0,
        pending: [],
        known: new Set(),
        parked: undefined,
        acked: 0,
        eventful: 0,
        drainWaiters: new Set(),
      });
    }
  }

  has(roomId: string): boolean {
    return this.#rooms.has(roomId);
  }

  /** Create a room with `m.room.create`, an optional name and encryption, and joined members. */
  create(opts: {
    id: string;
    creator: string;
    name?: string | undefined;
    encrypted?: boolean;
    members?: Array<{ userId: string; displayName?: string }>;
  }): void {
    if (this.#rooms.has(opts.id)) throw new Error(`room ${opts.id} exists`);
    this.#rooms.set(opts.id, { id: opts.id, state: new Map(), timeline: [] });
    this.setState(opts.id, "m.room.create", "", { creator: opts.creator, room_version: "10" }, opts.creator);
    this.join(opts.id, opts.creator);
    if (opts.name) this.setState(opts.id, "m.room.name", "", { name: opts.name }, opts.creator);
    if (opts.encrypted) {
      this.setState(opts.id, "m.room.encryption", "", { algorithm: "m.megolm.v1.aes-sha2" }, opts.creator);
    }
    for (const m of opts.members ?? []) this.join(opts.id, m.userId, m.displayName);
  }

  membership(roomId: string, userId: string): string | undefined {
    return this.#room(roomId).state.get(`m.room.member\u0000${userId}`)?.content.membership as
      | string
      | undefined;
  }

  join(roomId: string, userId: string, displayName?: string): void {
    const current = this.#room(roomId).state.get(`m.room.member\u0000${userId}`)?.content;
    if (current?.membership === "join" && (!displayName || current.displayname === displayName)) return;
    this.setMembership(roomId, userId, "join", userId, displayName);
  }

  invite(roomId: string, userId: string, inviter: string, isDirect = false): void {
    this.setMembership(roomId, userId, "invite", inviter, undefined, isDirect ? { is_direct: true } : {});
  }

  setMembership(
    roomId: string,
    userId: string,
    membership: "join" | "invite" | "leave",
    sender: string,
    displayName?: string,
    extra: Record<string, unknown> = {},
  ): void {
    const content: Record<string, unknown> = { membership, ...extra };
    if (displayName) content.displayname = displayName;
    this.setState(roomId, "m.room.member", userId, content, sender);
    const stream = this.#streams.get(userId);
    if (!stream) return;
    if (membership === "invite") this.#push(stream, { kind: "invite", roomId });
    if (membership === "leave") stream.known.delete(roomId);
    this.#wake(stream);
  }

  /** Set a state event; bots already in the room see it in their timeline. */
  setState(
    roomId: string,
    type: string,
    stateKey: string,
    content: Record<string, unknown>,
    sender: string,
  ): void {
    const room = this.#room(roomId);
    const event: MatrixEventJson = {
      type,
      state_key: stateKey,
      content,
      sender,
      event_id: `$state${++this.#seq}`,
      origin_server_ts: Date.now(),
    };
    room.state.set(`${type}\u0000${stateKey}`, event);
    room.timeline.push(event);
    for (const stream of this.#streams.values()) {
      if (stream.known.has(roomId) && this.membership(roomId, stream.userId) === "join") {
        this.#push(stream, { kind: "timeline", roomId, event });
      }
    }
  }

  /** Append a timeline event and queue it for the given bots (those joined to the room). */
  deliver(roomId: string, event: MatrixEventJson, toUserIds: string[]): void {
    this.#room(roomId).timeline.push(event);
    for (const userId of toUserIds) {
      const stream = this.#streams.get(userId);
      if (stream && this.membership(roomId, userId) === "join")
        this.#push(stream, { kind: "timeline", roomId, event });
    }
  }

  /** Append history only an initial sync shows. */
  addHistory(roomId: string, event: MatrixEventJson): void {
    this.#room(roomId).timeline.push(event);
  }

  stateEvents(roomId: string): MatrixEventJson[] {
    return [...this.#room(roomId).state.values()];
  }

  joinedMembers(roomId: string): Record<string, { display_name?: string }> {
    const out: Record<string, { display_name?: string }> = {};
    for (const ev of this.stateEvents(roomId)) {
      if (ev.type === "m.room.member" && ev.content.membership === "join" && ev.state_key) {
        out[ev.state_key] = ev.content.displayname ? { display_name: String(ev.content.displayname) } : {};
      }
    }
    return out;
  }

  /** Set a bot's global account data (e.g. `m.direct`); it reaches the bot with its next sync. */
  setAccountData(userId: string, type: string, content: Record<string, unknown>): void {
    const data = this.#accountData.get(userId) ?? new Map<string, Record<string, unknown>>();
    data.set(type, content);
    this.#accountData.set(userId, data);
  }

  storeFilter(filter: unknown): string {
    const id = `f${this.#filters.size + 1}`;
    this.#filters.set(id, filter);
    return id;
  }

  filter(id: string): unknown {
    return this.#filters.get(id);
  }

  /** Answer `/sync`: the initial snapshot, queued updates at once, or a long poll released by the next update. */
  sync(userId: string, query: Record<string, string>, res: ServerResponse): undefined {
    const stream = this.#streams.get(userId)!;
    if (stream.parked) this.#respond(stream);
    if (!query.since) return this.#initial(stream, query.filter, res);
    stream.acked = Math.max(stream.acked, Number(query.since.slice(1)) || 0);
    this.#checkDrained(stream);
    const timeout = Number(query.timeout ?? 0);
    if (this.#hasWork(stream) || !timeout) return this.#answer(stream, res);
    const timer = setTimeout(() => this.#respond(stream), timeout);
    stream.parked = { res, timer };
    res.on("close", () => {
      if (stream.parked?.res !== res) return;
      clearTimeout(stream.parked.timer);
      stream.parked = undefined;
    });
  }

  /** Resolve once the bot fetched everything queued and came back for more (so it processed it). */
  delivered(userId: string, timeoutMs: number): Promise<void> {
    const stream = this.#streams.get(userId)!;
    if (this.#drained(stream)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        stream.drainWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        stream.drainWaiters.delete(done);
        reject(new Error(`${userId} did not sync its queued events within ${timeoutMs} ms`));
      }, timeoutMs);
      stream.drainWaiters.add(done);
    });
  }

  /** Release every parked long poll. */
  close(): void {
    for (const stream of this.#streams.values()) {
      if (stream.parked) this.#respond(stream);
      stream.drainWaiters.clear();
    }
  }

  #room(roomId: string): RoomRecord {
    const room = this.#rooms.get(roomId);
    if (!room) throw new Error(`no room ${roomId}`);
    return room;
  }

  #push(stream: Stream, update: Update): void {
    stream.pending.push(update);
    this.#wake(stream);
  }

  #wake(stream: Stream): void {
    if (stream.parked && this.#hasWork(stream)) this.#respond(stream);
  }

  #respond(stream: Stream): void {
    const parked = stream.parked!;
    clearTimeout(parked.timer);
    stream.parked = undefined;
    this.#answer(stream, parked.res);
  }

  #hasWork(stream: Stream): boolean {
    return stream.pending.length > 0 || this.#newRooms(stream).length > 0;
  }

  #drained(stream: Stream): boolean {
    return !this.#hasWork(stream) && stream.acked >= stream.eventful;
  }

  #checkDrained(stream: Stream): void {
    if (this.#drained(stream)) for (const done of [...stream.drainWaiters]) done();
  }

  /** Rooms the bot has joined but not yet received. */
  #newRooms(stream: Stream): string[] {
    return [...this.#rooms.keys()].filter(
      (id) => !stream.known.has(id) && this.membership(id, stream.userId) === "join",
    );
  }

  #initial(stream: Stream, filterParam: string | undefined, res: ServerResponse): undefined {
    const limit = this.ignoreInitialTimelineLimit
      ? DEFAULT_TIMELINE_LIMIT
      : timelineLimit(filterParam, this.#filters);
    const join: Record<string, unknown> = {};
    const invite: Record<string, unknown> = {};
    for (const room of this.#rooms.values()) {
      const membership = this.membership(room.id, stream.userId);
      if (membership === "join") {
        const history = room.timeline.filter((e) => e.state_key === undefined);
        join[room.id] = joinedRoom([...room.state.values()], limit ? history.slice(-limit) : []);
        stream.known.add(room.id);
      } else if (membership === "invite") {
        invite[room.id] = { invite_state: { events: this.#strippedState(room) } };
      }
    }
    stream.pending = [];
    stream.eventful = ++stream.batch;
    const accountData = [...(this.#accountData.get(stream.userId) ?? new Map()).entries()].map(
      ([type, content]) => ({ type, content }),
    );
    send(res, {
      next_batch: `s${stream.batch}`,
      account_data: { events: accountData },
      rooms: { join, invite, leave: {} },
    });
  }

  #answer(stream: Stream, res: ServerResponse): undefined {
    const join: Record<
      string,
      { state: { events: MatrixEventJson[] }; timeline: { events: MatrixEventJson[] } }
    > = {};
    const invite: Record<string, unknown> = {};
    for (const id of this.#newRooms(stream)) {
      join[id] = joinedRoom(this.stateEvents(id), []);
      stream.known.add(id);
    }
    for (const update of stream.pending.splice(0)) {
      if (update.kind === "invite") {
        invite[update.roomId] = { invite_state: { events: this.#strippedState(this.#room(update.roomId)) } };
        continue;
      }
      if (this.membership(update.roomId, stream.userId) !== "join") continue;
      join[update.roomId] ??= joinedRoom([], []);
      join[update.roomId]!.timeline.events.push(update.event);
    }
    const eventful = Object.keys(join).length + Object.keys(invite).length > 0;
    stream.batch++;
    if (eventful) stream.eventful = stream.batch;
    send(res, {
      next_batch: `s${stream.batch}`,
      ...(eventful ? { rooms: { join, invite, leave: {} } } : {}),
    });
  }

  /** What an invitee sees of a room: create, name, encryption and the relevant member events. */
  #strippedState(
    room: RoomRecord,
  ): Array<Pick<MatrixEventJson, "type" | "state_key" | "content" | "sender">> {
    return [...room.state.values()]
      .filter((e) => e.type !== "m.room.member" || e.content.membership !== "leave")
      .map(({ type, state_key, content, sender }) => ({ type, state_key: state_key ?? "", content, sender }));
  }
}

function joinedRoom(state: MatrixEventJson[], timeline: MatrixEventJson[]) {
  return {
    state: { events: state },
    timeline: { events: timeline, limited: false, prev_batch: "p0" },
    ephemeral: { events: [] },
    account_data: { events: [] },
    unread_notifications: {},
    summary: {},
  };
}

/** `room.timeline.limit` of the sync filter: inline JSON (the SDK's initial sync) or a stored filter id. */
function timelineLimit(filterParam: string | undefined, filters: Map<string, unknown>): number {
  let filter: unknown;
  try {
    filter = filterParam?.startsWith("{") ? JSON.parse(filterParam) : filters.get(filterParam ?? "");
  } catch {
    filter = undefined;
  }
  const limit = (filter as { room?: { timeline?: { limit?: unknown } } } | undefined)?.room?.timeline?.limit;
  return typeof limit === "number" ? limit : DEFAULT_TIMELINE_LIMIT;
}

function send(res: ServerResponse, body: unknown): void {
  if (res.headersSent || res.writableEnded) return;
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
}
