-- RADIUS accounting (DESIGN §1 rule 13): a NAS that restarts (Accounting-On / -Off) may hand out
-- the same Acct-Session-Ids again. Its sessions of before are marked with when it restarted, and
-- leave the key: a later packet with one of their ids is a new session, counted from zero
-- (src/store/functions/60_accounting.sql).
alter table accounting_sessions add column restarted_at timestamptz;
drop index accounting_sessions_key;
create unique index accounting_sessions_key on accounting_sessions (network_id, mac, acct_session_id, identification_id)
  where restarted_at is null;
