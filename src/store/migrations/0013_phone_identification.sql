-- Phone identification (DESIGN §1 rule 16). A contract keeps one row per phone provider it has
-- an account with; the credentials are one JSON object sealed with AES-256-GCM under a key derived
-- from the server secret (src/domain/phone/providerSettings.ts), bound to the contract and the
-- provider, so a dump of this table alone reveals no credential and a row moved to another
-- contract no longer opens.
create table phone_providers (
  contract_id uuid not null references contracts (id) on delete cascade,
  provider text not null check (provider in ('smsru', 'twilio', 'smsc')),
  -- Null: the provider's public endpoint.
  api_url text,
  credentials_sealed text not null,
  updated_at timestamptz not null,
  primary key (contract_id, provider)
);

-- The pumping breaker's pause of a network's paid sends (flash call, SMS), kept here as well as
-- in the cache, so that a flushed or restarted Redis does not lift it. Written once, when it trips;
-- deleted when an operator resumes (POST …/phone-providers/:provider/resume).
create table phone_pauses (
  network_id uuid primary key references networks (id) on delete cascade,
  contract_id uuid not null references contracts (id) on delete cascade,
  provider text not null,
  paused_at timestamptz not null,
  -- The window that tripped it: codes sent, and how many of them guests entered.
  sent integer not null,
  entered integer not null
);
create index phone_pauses_contract on phone_pauses (contract_id);

-- An identification by phone: token_id and code stay null, method is 'phone'. The number is kept
-- sealed (AES-256-GCM, bound to the contract) and as a keyed hash for look-ups; the provider and its
-- reference (check_id, call_id, sms_id, Twilio's VE… sid) say how it was confirmed.
alter table identifications
  add column phone_sealed text,
  add column phone_hash text,
  add column phone_method text check (phone_method in ('callcheck', 'flashcall', 'sms', 'voice')),
  add column phone_provider text,
  add column phone_reference text,
  add constraint identifications_phone_fields check (
    (method = 'phone') = (phone_sealed is not null and phone_hash is not null and phone_method is not null
                          and phone_provider is not null and token_id is null));

-- Append-only, now over the phone columns too: a row may be closed once; nothing it recorded at
-- the start may change (the expiry stays outside, as before: an extension moves it).
create or replace function identifications_append_only() returns trigger language plpgsql as $$
begin
  if old.ended_at is not null then
    raise exception 'identification % has already ended', old.id;
  end if;
  if (new.mac, new.network_id, new.contract_id, new.token_id, new.code, new.method, new.started_at,
      new.phone_sealed, new.phone_hash, new.phone_method,
      new.phone_provider, new.phone_reference)
     is distinct from
     (old.mac, old.network_id, old.contract_id, old.token_id, old.code, old.method, old.started_at,
      old.phone_sealed, old.phone_hash, old.phone_method,
      old.phone_provider, old.phone_reference) then
    raise exception 'identification % may only be closed', old.id;
  end if;
  return new;
end
$$;
