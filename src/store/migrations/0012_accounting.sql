-- RADIUS accounting (DESIGN §1 rule 13, §4 "Session state"): one row per NAS session of a device,
-- keeping the highest counters the NAS reported for it. Duplicated and reordered Interim-Updates
-- can then never count a byte twice: a copy's usage is the sum over its sessions of their maxima.
-- The rule lives in kalitka_account (src/store/functions/60_accounting.sql). Like the
-- identification log, no foreign keys: the rows outlive a deleted token or network.
create table accounting_sessions (
  id bigserial primary key,
  network_id uuid not null,
  contract_id uuid not null,
  mac text not null,
  acct_session_id text not null,
  -- The identification live when the NAS first reported the session; its copy is charged.
  identification_id bigint not null,
  token_id uuid,
  framed_ip inet,
  nas_ip inet,
  nas_identifier text,
  input_octets bigint not null default 0 check (input_octets >= 0),
  output_octets bigint not null default 0 check (output_octets >= 0),
  started_at timestamptz not null,
  updated_at timestamptz not null,
  stopped_at timestamptz
);
create unique index accounting_sessions_key on accounting_sessions (network_id, mac, acct_session_id);
create index accounting_sessions_token on accounting_sessions (token_id) where token_id is not null;
create index accounting_sessions_identification on accounting_sessions (identification_id);
-- RFC 8908 without `mac`: the device is found by the address the NAS gave it.
create index accounting_sessions_framed_ip on accounting_sessions (network_id, framed_ip, updated_at desc)
  where framed_ip is not null and stopped_at is null;
