-- Limits on a token (DESIGN §1 rule 13), null = unlimited. Every activated copy carries its own,
-- copied from the unused copy at activation; an extension raises a copy's quota (rule 14), so the
-- quota's column is wide and only its lower bound is checked here (the API bounds new tokens).
alter table tokens
  add column down_kbps integer check (down_kbps between 1 and 10000000),
  add column up_kbps integer check (up_kbps between 1 and 10000000),
  add column quota_mb bigint check (quota_mb >= 1),
  add column max_devices integer check (max_devices between 1 and 1000),
  add column extended_at timestamptz;

-- Named presets per contract. Generating from a plan copies its values onto the tokens: a plan
-- changed or deleted later changes no token already made.
create table plans (
  id uuid primary key default gen_random_uuid(),
  contract_id uuid not null references contracts (id) on delete cascade,
  name text not null,
  multi_use boolean not null default false,
  duration_days integer check (duration_days between 1 and 30),
  down_kbps integer check (down_kbps between 1 and 10000000),
  up_kbps integer check (up_kbps between 1 and 10000000),
  quota_mb bigint check (quota_mb between 1 and 10000000),
  max_devices integer check (max_devices between 1 and 1000),
  created_at timestamptz not null default now(),
  check (max_devices is null or multi_use)
);
create unique index plans_contract_name on plans (contract_id, lower(name));
