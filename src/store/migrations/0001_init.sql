-- Kalitka's first schema. Postgres is the source of truth; Redis only caches what is here.

create table settings (
  key text primary key,
  value text not null
);

-- A contract is a customer (tenant); everything below belongs to one.
create table contracts (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  created_at timestamptz not null default now()
);

-- A hotspot site, served by one controller whose kind picks the adapter.
create table networks (
  id uuid primary key default gen_random_uuid(),
  contract_id uuid not null references contracts (id) on delete cascade,
  name text not null,
  controller text not null
    check (controller in ('generic', 'mikrotik', 'unifi', 'coova', 'opennds', 'meraki')),
  settings jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
create index networks_contract on networks (contract_id);

-- System administrators have no contract; operators belong to exactly one.
create table users (
  id uuid primary key default gen_random_uuid(),
  login text not null unique,
  password_hash text,
  contract_id uuid references contracts (id) on delete cascade,
  is_system boolean not null default false,
  token_login_allowed boolean not null default true,
  created_at timestamptz not null default now(),
  check (is_system or contract_id is not null)
);

-- Personal API tokens: only an HMAC of the secret is kept.
create table api_tokens (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  label text not null,
  hash text not null unique,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
-- A revoked token's label may be used again.
create unique index api_tokens_live_label on api_tokens (user_id, label) where revoked_at is null;

-- Wi-Fi access tokens. Each copy of a multi-use code is its own row.
create table tokens (
  id uuid primary key default gen_random_uuid(),
  contract_id uuid not null references contracts (id) on delete cascade,
  code text not null check (code ~ '^[1-9][0-9]{11}$'),
  multi_use boolean not null,
  duration_days integer check (duration_days between 1 and 30),
  status text not null default 'unused' check (status in ('unused', 'active', 'expired', 'annulled')),
  mac text,
  activated_at timestamptz,
  expires_at timestamptz,
  end_reason text,
  issued_to text,
  created_at timestamptz not null default now(),
  check (status <> 'unused' or (mac is null and activated_at is null)),
  check (status <> 'active' or (mac is not null and activated_at is not null))
);
-- Rule 6: a multi-use code has exactly one unused copy; a live code is never generated twice.
create unique index tokens_one_unused_copy on tokens (code) where status = 'unused';
-- Rule 6: the same device never gets a second active copy of one code.
create unique index tokens_one_active_copy_per_device on tokens (code, mac) where status = 'active';
create index tokens_code on tokens (code);
create index tokens_contract_status on tokens (contract_id, status);
create index tokens_active_expiry on tokens (expires_at) where status = 'active';

-- The identification log: one row per device identified in a contract, closed once when it ends.
-- It has no foreign keys on purpose: deleting a token or network never deletes its log rows.
create table identifications (
  id bigserial primary key,
  mac text not null,
  network_id uuid not null,
  contract_id uuid not null,
  token_id uuid,
  code text,
  method text not null default 'token',
  started_at timestamptz not null,
  expires_at timestamptz,
  ended_at timestamptz,
  end_reason text,
  check ((ended_at is null) = (end_reason is null))
);
-- Rule 7: a device has at most one live identification across the whole system.
create unique index identifications_one_live_per_mac on identifications (mac) where ended_at is null;
create index identifications_contract_started on identifications (contract_id, started_at);
create index identifications_live_token on identifications (token_id) where ended_at is null;
create index identifications_live_expiry on identifications (expires_at) where ended_at is null;

-- Append-only: a row may be closed once; nothing it recorded at the start may change.
create function identifications_append_only() returns trigger language plpgsql as $$
begin
  if old.ended_at is not null then
    raise exception 'identification % has already ended', old.id;
  end if;
  if (new.mac, new.network_id, new.contract_id, new.token_id, new.code, new.method, new.started_at)
     is distinct from
     (old.mac, old.network_id, old.contract_id, old.token_id, old.code, old.method, old.started_at) then
    raise exception 'identification % may only be closed', old.id;
  end if;
  return new;
end
$$;
create trigger identifications_append_only before update on identifications
  for each row execute function identifications_append_only();
