-- Activation in one round trip (DESIGN §1, rules 1-7): deciding and writing an entry here saves
-- the six round trips it took from Node (read, begin, read again, bind or clone, lock the device,
-- insert, commit). src/domain/activation.ts calls it and writes the cache through. The end of the
-- device's previous identification is kalitka_end_identification's, as for every other end.

-- A device enters a code in a network. Returns {"refusal": CODE} having written nothing, or
-- {"existing", "token", "identification", "ended"}. A race lost on a row raises
-- serialization_failure (or the partial unique indexes raise unique_violation): the caller runs
-- it again and then sees the winner's state.
create or replace function kalitka_activate(
  p_code text, p_mac text, p_network_id uuid, p_contract_id uuid, p_method text, p_now timestamptz,
  p_terms_version text default null
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
  v_moved identifications; -- rebindOnReentry
  v_devices integer;
begin
  -- Every row this device could be entering: unused copies, single-use rows, and its own copies;
  -- and the copies of a code with a device cap (rule 13), whose last device took the unused copy.
  select count(*), count(*) filter (where contract_id = p_contract_id) into v_seen, v_mine
    from tokens where code = p_code and (mac is null or mac = p_mac or not multi_use or max_devices is not null);
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
    -- >>> rebindOnReentry (DESIGN §1 rule 15) ------------------------------------------------------
    -- With no unused copy left, the code's one live copy on another device moves here when this
    -- network allows it: the old device is de-authorised (end reason `moved`, the copy stays
    -- active with its term and its accounted usage) and this device gets a new identification
    -- below. At most 3 moves in 24 hours per copy; then TOKEN_MOVE_LIMIT, having written nothing.
    if v_unused.id is null
       and coalesce((select (settings ->> 'rebindOnReentry')::boolean from networks where id = p_network_id), false)
       and not exists (select 1 from tokens where code = p_code and mac = p_mac and status = 'active')
       and (select count(*) from tokens t join identifications i on i.token_id = t.id and i.ended_at is null
             where t.code = p_code and t.contract_id = p_contract_id and t.status = 'active' and t.mac <> p_mac
               and (t.expires_at is null or t.expires_at > p_now)) = 1 then
      select t.* into v_token from tokens t join identifications i on i.token_id = t.id and i.ended_at is null
       where t.code = p_code and t.contract_id = p_contract_id and t.status = 'active' and t.mac <> p_mac
       for update of t;
      if v_token.id is null then
        -- The copy moved meanwhile (this very device's other entry, or another's): run again.
        raise exception 'code % moved meanwhile', p_code using errcode = 'serialization_failure';
      end if;
      if (select count(*) from identifications
           where token_id = v_token.id and end_reason = 'moved' and ended_at > p_now - interval '24 hours') >= 3 then
        return jsonb_build_object('refusal', 'TOKEN_MOVE_LIMIT');
      end if;
      select * into v_moved from kalitka_end_identification(null,
        array(select id from identifications where token_id = v_token.id and ended_at is null), 'moved', p_now, null);
      update tokens set mac = p_mac where id = v_token.id returning * into v_token;
    end if;
    -- <<< rebindOnReentry ------------------------------------------------------------------------
    if v_unused.id is null and v_moved.id is null then
      -- Why no unused copy can serve this device (rule 5: another device means "already used").
      select * into v_pick from tokens
       where code = p_code and contract_id = p_contract_id and (mac is null or mac = p_mac or not multi_use or max_devices is not null)
       order by case when mac = p_mac then 0 when mac is null then 1 else 2 end, created_at desc limit 1;
      if v_pick.mac = p_mac and v_pick.status = 'active' and (v_pick.expires_at is null or v_pick.expires_at > p_now) then
        -- This device's own live copy appeared after v_own was read (its other entry moved or
        -- took the copy meanwhile): run again, as a re-entry, rather than refuse it its own code.
        raise exception 'device % entered code meanwhile', p_mac using errcode = 'serialization_failure';
      end if;
      return jsonb_build_object('refusal', case
        when v_pick.mac is null then 'TOKEN_ANNULLED' -- the code's unused copy was annulled
        when v_pick.mac <> p_mac and v_pick.multi_use then 'TOKEN_DEVICE_LIMIT' -- rule 13: every device slot is taken
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

  if v_moved.id is not null then
    null; -- rebindOnReentry: v_token is the copy that moved here
  elsif not v_unused.multi_use then
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
    -- Rule 13: the devices a capped code has served, counted under the unused copy's lock (this
    -- statement's snapshot sees every activation that held it before), so racing devices count
    -- one at a time and the cap is never passed.
    if v_unused.max_devices is not null then
      select count(*) into v_devices from tokens
       where code = v_unused.code and contract_id = v_unused.contract_id and multi_use and mac is not null;
    end if;
    if v_devices + 1 >= v_unused.max_devices then
      -- The device that takes the last slot gets the unused copy itself: none remains, and a
      -- further device is refused TOKEN_DEVICE_LIMIT.
      update tokens set status = 'active', mac = p_mac, activated_at = p_now,
             expires_at = p_now + duration_days * interval '24 hours'
       where id = v_unused.id
      returning * into v_token;
    else
      -- The activated copy carries the code's limits (rule 13): each copy has its own quota.
      insert into tokens (contract_id, code, multi_use, duration_days, status, mac, activated_at, expires_at, created_at,
                          down_kbps, up_kbps, quota_mb, max_devices)
      values (v_unused.contract_id, v_unused.code, true, v_unused.duration_days, 'active', p_mac, p_now,
              p_now + v_unused.duration_days * interval '24 hours', v_unused.created_at,
              v_unused.down_kbps, v_unused.up_kbps, v_unused.quota_mb, v_unused.max_devices)
      returning * into v_token;
    end if;
  end if;

  -- Rule 7: a device has one live identification. One in another contract ends as
  -- identified_elsewhere (its copy annulled); one in this contract with another token is
  -- replaced; one past its term ends as expired at its expiry (kalitka_end_identification decides).
  select * into v_live from identifications where mac = p_mac and ended_at is null for update;
  if v_live.id is not null and v_live.token_id is distinct from v_token.id then
    select * into v_ended from kalitka_end_identification(null, array[v_live.id],
      case when v_live.contract_id = p_contract_id then 'replaced' else 'identified_elsewhere' end,
      p_now, p_network_id);
  end if;

  insert into identifications (mac, network_id, contract_id, token_id, code, method, started_at, expires_at, terms_version)
  values (p_mac, p_network_id, p_contract_id, v_token.id, v_token.code, p_method, p_now, v_token.expires_at, p_terms_version)
  returning * into v_started;
  perform kalitka_enqueue_events(array[v_started], p_now);

  return jsonb_build_object('existing', false, 'token', to_jsonb(v_token), 'identification', to_jsonb(v_started),
    'ended', case when v_ended.id is null then '[]'::jsonb else jsonb_build_array(to_jsonb(v_ended)) end
      || case when v_moved.id is null then '[]'::jsonb else jsonb_build_array(to_jsonb(v_moved)) end); -- rebindOnReentry
end
$$;
