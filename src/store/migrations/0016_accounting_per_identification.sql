-- RADIUS accounting (DESIGN §1 rule 13): a NAS session may outlive the identification it was
-- charged to (the device entered another code in the same contract and was not de-authorised, so
-- the NAS goes on reporting the same Acct-Session-Id). What follows is charged to the device's new
-- identification, in a row of its own (src/store/functions/60_accounting.sql): one row per NAS
-- session and identification.
drop index accounting_sessions_key;
create unique index accounting_sessions_key on accounting_sessions (network_id, mac, acct_session_id, identification_id);
