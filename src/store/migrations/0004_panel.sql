-- Admin panel sessions. The browser's cookie holds a random id; only its HMAC (with the server
-- pepper) is kept, so a copy of this table opens no session.
create table panel_sessions (
  id_hash text primary key,
  user_id uuid not null references users (id) on delete cascade,
  -- A system administrator's chosen contract; operators always act on their own.
  contract_id uuid references contracts (id) on delete set null,
  -- A personal API token just created, waiting to be shown once: encrypted with a key derived from
  -- the cookie, which is not stored, and cleared by the request that shows it.
  reveal text,
  created_at timestamptz not null,
  -- Sessions end after 12 idle hours: a request moves this forward.
  last_seen_at timestamptz not null
);
create index panel_sessions_user on panel_sessions (user_id);
create index panel_sessions_last_seen on panel_sessions (last_seen_at);
