-- Stored functions are re-applied with `create or replace` on every migrate (src/store/migrate.ts),
-- after the numbered migrations and in file-name order: a rule changes here, in place, not in a new
-- migration. Only a change of a function's arguments or result needs a numbered migration (one
-- that drops the old function); this directory then creates the new one.

-- What a revoke or webhook row reports about an identification (one definition for every writer).
create or replace function kalitka_identification_event(i identifications) returns jsonb language sql immutable as $$
  select jsonb_build_object(
    'type', case when i.ended_at is null then 'identification.started' else 'identification.ended' end,
    'identificationId', i.id, 'mac', i.mac, 'networkId', i.network_id, 'contractId', i.contract_id,
    'tokenId', i.token_id, 'code', i.code, 'startedAt', i.started_at, 'expiresAt', i.expires_at,
    'endedAt', i.ended_at, 'endReason', i.end_reason)
$$;

-- The one outbox enqueue for identifications that started or ended. An ended one is de-authorised
-- at its network's controller, except in the network the device is entering right now (it is being
-- let in there); every start and end goes to the network's webhook, if it has one.
-- plpgsql rather than sql: its plan is cached per session instead of made again at every call.
create or replace function kalitka_enqueue_events(
  p_idents identifications[], p_now timestamptz, p_entering_network uuid default null
) returns void language plpgsql as $$
begin
  insert into outbox (kind, network_id, payload, next_at)
  select k, i.network_id, kalitka_identification_event(i), p_now
    from unnest(p_idents) as i
    join networks n on n.id = i.network_id
    cross join unnest(array['revoke', 'webhook']) as k
   where (k = 'revoke' and i.ended_at is not null and i.network_id is distinct from p_entering_network)
      or (k = 'webhook' and n.settings ? 'webhookUrl');
end
$$;
