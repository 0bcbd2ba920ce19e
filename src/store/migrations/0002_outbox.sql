-- Calls to the outside world (de-authorise a device, post a webhook) are written here in the same
-- transaction as the state change that needs them, then delivered by the worker with retries, so
-- a restart between the two loses none.
create table outbox (
  id bigserial primary key,
  kind text not null check (kind in ('revoke', 'webhook')),
  network_id uuid not null,
  payload jsonb not null,
  attempts integer not null default 0,
  next_at timestamptz not null,
  last_error text,
  done_at timestamptz,
  created_at timestamptz not null default now()
);
create index outbox_due on outbox (next_at) where done_at is null;
create index outbox_done on outbox (done_at) where done_at is not null;
