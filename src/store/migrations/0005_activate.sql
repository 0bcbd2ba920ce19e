-- Activation in one round trip. The rules (DESIGN §1, rules 1-7) stay as they were in
-- src/domain/activation.ts; running them here saves the six round trips that decided and wrote
-- an entry from Node (read, begin, read again, bind or clone, lock the device, insert, commit).

-- What a revoke or webhook row reports about an identification (one definition for every writer).
create function kalitka_identification_event(i identifications) returns jsonb language sql immutable as $$
  select jsonb_build_object(
    'type', case when i.ended_at is null then 'identification.started' else 'identification.ended' end,
    'identificationId', i.id, 'mac', i.mac, 'networkId', i.network_id, 'contractId', i.contract_id,
    'tokenId', i.token_id, 'code', i.code, 'startedAt', i.started_at, 'expiresAt', i.expires_at,
    'endedAt', i.ended_at, 'endReason', i.end_reason)
$$;

-- A device enters a code in a network. Returns {"refusal": CODE} having written nothing, or
-- {"existing", "token", "identification", "ended"}. A race lost on a row raises
-- serialization_failure (or the partial unique indexes raise unique_violation): the caller runs
-- it again and then sees the winner's state.
create function kalitka_activate(
  p_code text, p_mac text, p_network_id uuid, p_contract_id uuid, p_method text, p_now timestamptz
) returns jsonb language plpgsql as $$
declare
  v_seen integer;
  v_mine integer;
  v_own tokens;
  v_unused tokens;
  v_spent tokens;
  v_pick tokens;
  v_token tokens;
  v_live identifications;
  v_started identifications;
  v_ended identifications;
  v_expired boolean;
  v_reason text;
  v_at timestamptz;
begin
  -- Every row this device could be entering: unused copies, single-use rows, and its own copies.
  select count(*), count(*) filter (where contract_id = p_contract_id) into v_seen, v_mine
    from tokens where code = p_code and (mac is null or mac = p_mac or not multi_use);
  if v_seen = 0 then return jsonb_build_object('refusal', 'TOKEN_UNKNOWN'); end if;
  if v_mine = 0 then return jsonb_build_object('refusal', 'TOKEN_FOREIGN'); end if;

  select * into v_own from tokens
   where code = p_code and contract_id = p_contract_id and status = 'active' and mac = p_mac
   order by created_at desc limit 1;
  select * into v_unused from tokens
   where code = p_code and contract_id = p_contract_id and status = 'unused'
   order by created_at desc limit 1;

  if v_own.id is not null and (v_own.expires_at is null or v_own.expires_at > p_now) then
    -- Rules 5 and 6: the same device entering its code again gets its identification back.
    select * into v_live from identifications where mac = p_mac and ended_at is null;
    if v_live.token_id = v_own.id then
      return jsonb_build_object('existing', true, 'token', to_jsonb(v_own), 'identification', to_jsonb(v_live), 'ended', '[]'::jsonb);
    end if;
    -- An active copy without its identification cannot normally exist; treat the entry as new.
    if v_unused.id is null then return jsonb_build_object('refusal', 'TOKEN_USED'); end if;
  else
    if v_unused.id is null then
      -- Why no unused copy can serve this device (rule 5: another device means "already used").
      select * into v_pick from tokens
       where code = p_code and contract_id = p_contract_id and (mac is null or mac = p_mac or not multi_use)
       order by case when mac = p_mac then 0 when mac is null then 1 else 2 end, created_at desc limit 1;
      return jsonb_build_object('refusal', case
        when v_pick.mac is null then 'TOKEN_ANNULLED' -- the code's unused copy was annulled
        when v_pick.mac <> p_mac then 'TOKEN_USED'
        when v_pick.status = 'annulled' then 'TOKEN_ANNULLED'
        when v_pick.status = 'expired' or v_pick.expires_at <= p_now then 'TOKEN_EXPIRED'
        else 'TOKEN_USED' end);
    end if;
    if v_unused.multi_use then
      -- A multi-use device that already ran out its term, or was annulled, needs a new code.
      select * into v_spent from tokens
       where code = p_code and contract_id = p_contract_id and multi_use and mac = p_mac and status <> 'unused'
       order by created_at desc limit 1;
      if v_spent.id is not null
         and (v_spent.status = 'expired' or v_spent.end_reason = 'expired' or v_spent.expires_at <= p_now) then
        return jsonb_build_object('refusal', 'TOKEN_EXPIRED');
      end if;
      if v_spent.end_reason = 'annulled' then return jsonb_build_object('refusal', 'TOKEN_ANNULLED'); end if;
    end if;
  end if;

  if not v_unused.multi_use then
    -- Rule 5: the single-use row itself becomes the device's. Only one of racing devices wins.
    update tokens set status = 'active', mac = p_mac, activated_at = p_now,
           expires_at = p_now + duration_days * interval '24 hours'
     where id = v_unused.id and status = 'unused'
    returning * into v_token;
    if v_token.id is null then
      raise exception 'token % was taken meanwhile', v_unused.id using errcode = 'serialization_failure';
    end if;
  else
    -- Rule 6: the device gets an activated copy and the unused copy stays. Locking the unused copy
    -- queues every activation of the code, so a device racing itself still gets one copy.
    perform 1 from tokens where id = v_unused.id and status = 'unused' for update;
    if not found then
      raise exception 'token % was annulled or deleted meanwhile', v_unused.id using errcode = 'serialization_failure';
    end if;
    if exists (select 1 from tokens where code = v_unused.code and mac = p_mac and status = 'active') then
      -- This device won a concurrent entry: run again, as a re-entry.
      raise exception 'device % entered code meanwhile', p_mac using errcode = 'serialization_failure';
    end if;
    insert into tokens (contract_id, code, multi_use, duration_days, status, mac, activated_at, expires_at, created_at)
    values (v_unused.contract_id, v_unused.code, true, v_unused.duration_days, 'active', p_mac, p_now,
            p_now + v_unused.duration_days * interval '24 hours', v_unused.created_at)
    returning * into v_token;
  end if;

  -- Rule 7: a device has one live identification. One in another contract ends as
  -- identified_elsewhere (its copy annulled); one in this contract with another token is
  -- replaced; one past its term ends as expired at its expiry.
  select * into v_live from identifications where mac = p_mac and ended_at is null for update;
  if v_live.id is not null and v_live.token_id is distinct from v_token.id then
    v_expired := v_live.expires_at is not null and v_live.expires_at <= p_now;
    v_reason := case when v_expired then 'expired' when v_live.contract_id = p_contract_id then 'replaced' else 'identified_elsewhere' end;
    v_at := case when v_expired then v_live.expires_at else p_now end;
    if v_live.token_id is not null then
      update tokens set status = case when v_expired then 'expired' else 'annulled' end, end_reason = v_reason
       where id = v_live.token_id and status = 'active';
    end if;
    update identifications set ended_at = v_at, end_reason = v_reason where id = v_live.id
    returning * into v_ended;
    -- De-authorise the device where it was (not here, where it is being let in), and tell that
    -- network's webhook, if it has one.
    insert into outbox (kind, network_id, payload, next_at)
    select k, v_ended.network_id, kalitka_identification_event(v_ended), p_now
      from networks n cross join unnest(array['revoke', 'webhook']) as k
     where n.id = v_ended.network_id
       and ((k = 'revoke' and v_ended.network_id <> p_network_id) or (k = 'webhook' and n.settings ? 'webhookUrl'));
  end if;

  insert into identifications (mac, network_id, contract_id, token_id, code, method, started_at, expires_at)
  values (p_mac, p_network_id, p_contract_id, v_token.id, v_token.code, p_method, p_now, v_token.expires_at)
  returning * into v_started;
  insert into outbox (kind, network_id, payload, next_at)
  select 'webhook', n.id, kalitka_identification_event(v_started), p_now
    from networks n where n.id = p_network_id and n.settings ? 'webhookUrl';

  return jsonb_build_object('existing', false, 'token', to_jsonb(v_token), 'identification', to_jsonb(v_started),
    'ended', case when v_ended.id is null then '[]'::jsonb else jsonb_build_array(to_jsonb(v_ended)) end);
end
$$;
