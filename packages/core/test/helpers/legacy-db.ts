import BetterSqlite3 from "better-sqlite3";

/**
 * The upstream "April v6" `state.db` schema (reference/upstream-gateway.md §2.5), verbatim in shape:
 * `source` instead of platform/agent columns, REAL seconds, `schema_version` table, external-content FTS5.
 */
const APRIL_V6_SCHEMA = `
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  user_id TEXT,
  model TEXT,
  model_config TEXT,
  system_prompt TEXT,
  parent_session_id TEXT,
  started_at REAL NOT NULL,
  ended_at REAL,
  end_reason TEXT,
  message_count INTEGER DEFAULT 0,
  tool_call_count INTEGER DEFAULT 0,
  input_tokens INTEGER DEFAULT 0,
  output_tokens INTEGER DEFAULT 0,
  cache_read_tokens INTEGER DEFAULT 0,
  cache_write_tokens INTEGER DEFAULT 0,
  reasoning_tokens INTEGER DEFAULT 0,
  billing_provider TEXT,
  billing_base_url TEXT,
  billing_mode TEXT,
  estimated_cost_usd REAL,
  actual_cost_usd REAL,
  cost_status TEXT,
  cost_source TEXT,
  pricing_version TEXT,
  title TEXT,
  FOREIGN KEY (parent_session_id) REFERENCES sessions(id)
);
CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  role TEXT NOT NULL,
  content TEXT,
  tool_call_id TEXT,
  tool_calls TEXT,
  tool_name TEXT,
  timestamp REAL NOT NULL,
  token_count INTEGER,
  finish_reason TEXT,
  reasoning TEXT,
  reasoning_details TEXT,
  codex_reasoning_items TEXT
);
CREATE INDEX idx_sessions_source ON sessions(source);
CREATE INDEX idx_sessions_parent ON sessions(parent_session_id);
CREATE INDEX idx_sessions_started ON sessions(started_at DESC);
CREATE INDEX idx_messages_session ON messages(session_id, timestamp);
CREATE UNIQUE INDEX idx_sessions_title_unique ON sessions(title) WHERE title IS NOT NULL;
CREATE VIRTUAL TABLE messages_fts USING fts5(content, content=messages, content_rowid=id);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
  INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
INSERT INTO schema_version (version) VALUES (6);
`;

export interface LegacySession {
  id: string;
  source: string;
  userId?: string;
  model?: string;
  /** Epoch seconds, REAL, as upstream writes them. */
  startedAt: number;
  endedAt?: number;
  endReason?: string;
  title?: string;
  inputTokens?: number;
  messages: Array<{
    role: string;
    content: string | null;
    timestamp: number;
    toolCalls?: string;
    toolName?: string;
  }>;
}

/** Write a real `state.db` with the upstream April v6 schema and these rows, the way the Python gateway did (WAL). */
export function writeLegacyDb(file: string, sessions: LegacySession[]): void {
  const db = new BetterSqlite3(file);
  db.pragma("journal_mode = WAL");
  db.exec(APRIL_V6_SCHEMA);
  const insertSession =
    db.prepare(`INSERT INTO sessions (id, source, user_id, model, model_config, system_prompt,
    started_at, ended_at, end_reason, message_count, input_tokens, output_tokens, title, billing_provider)
    VALUES (?, ?, ?, ?, '{"temperature":0.7}', 'You are Hermes.', ?, ?, ?, ?, ?, 3, ?, 'openrouter')`);
  const insertMessage = db.prepare(
    "INSERT INTO messages (session_id, role, content, tool_calls, tool_name, timestamp, token_count) VALUES (?, ?, ?, ?, ?, ?, 7)",
  );
  db.transaction(() => {
    for (const s of sessions) {
      insertSession.run(
        s.id,
        s.source,
        s.userId ?? null,
        s.model ?? null,
        s.startedAt,
        s.endedAt ?? null,
        s.endReason ?? null,
        s.messages.length,
        s.inputTokens ?? 0,
        s.title ?? null,
      );
      for (const m of s.messages)
        insertMessage.run(s.id, m.role, m.content, m.toolCalls ?? null, m.toolName ?? null, m.timestamp);
    }
  })();
  db.close();
}
