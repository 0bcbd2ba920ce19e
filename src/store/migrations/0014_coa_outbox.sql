-- Rule 14: an extension is pushed to the NAS with an RFC 5176 CoA-Request, written to the outbox in
-- the extension's transaction and delivered by the worker with retries like a de-authorisation.
alter table outbox drop constraint outbox_kind_check;
alter table outbox add constraint outbox_kind_check check (kind in ('revoke', 'webhook', 'coa'));
