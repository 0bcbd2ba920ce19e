-- RADIUS accounting (DESIGN §1 rule 13, §4 "Session state"), the one definition for both RADIUS
-- paths: src/domain/accounting.ts (rlm_rest → POST /api/v1/radius/accounting) and the rlm_sql site
-- (deploy/freeradius/mods-available/kalitka_sql, through kalitka_radius_account below).
--   - One row per NAS session (network, MAC, Acct-Session-Id) keeps the HIGHEST counters reported
--     for it: counters only grow within a NAS session, so a duplicate or an Interim-Update that
--     arrives after a later one changes nothing, and nothing is counted twice.
--   - A session is charged to the identification live when the NAS first reported it (and to
--     its token copy); a device with no live identification in the network's contract is not
--     recorded at all (an unknown MAC leaves no row).
--   - A session the NAS goes on reporting after that identification was replaced by another live
--     one (the device entered a new code and was not de-authorised) is charged from then on
--     to the new one, in a row of its own whose counters start where the session's earlier rows
--     stopped: the ended copy is charged nothing more, and the new copy's quota holds.
--   - A copy's usage is the sum over its sessions (both directions, 64-bit: octets + gigawords
--     * 2^32). When it reaches the copy's quota_mb MiB, the copy's identification ends with
--     reason quota_exceeded (kalitka_end_identification: copy `expired`, revoke queued).
--   - Accounting-On / Accounting-Off (the NAS restarted): its open sessions are closed, and all its
--     sessions leave the key (restarted_at), since it may hand out their ids again: a later packet
--     with one of them starts a new session. The NAS is the one with that NAS-IP-Address when the
--     request names one, else the one with that NAS-Identifier (the access points of a network
--     often share one: a restart of one is not a restart of the others).
-- Returns {"recorded": bool, "tokenId", "usedBytes", "quotaBytes", "ended": [identifications]}.
create or replace function kalitka_account(
  p_network_id uuid,
  p_contract_id uuid,
  p_mac text,
  p_status text,
  p_session_id text,
  p_in_octets bigint,
  p_in_gigawords bigint,
  p_out_octets bigint,
  p_out_gigawords bigint,
  p_framed_ip inet,
  p_nas_ip inet,
  p_nas_identifier text,
  p_now timestamptz
) returns jsonb language plpgsql as $$
declare
  v_last record;
  v_live identifications;
  v_ident bigint;
  v_token uuid;
  v_quota bigint;
  v_status text;
  v_used numeric := 0;
  v_base_in numeric := 0;
  v_base_out numeric := 0;
  -- 2^31 - 1 gigawords and 2^32 - 1 octets is bigint's largest value: more cannot be stored.
  v_in bigint := least(coalesce(p_in_gigawords, 0), 2147483647) * 4294967296 + least(coalesce(p_in_octets, 0), 4294967295);
  v_out bigint := least(coalesce(p_out_gigawords, 0), 2147483647) * 4294967296 + least(coalesce(p_out_octets, 0), 4294967295);
  v_ended jsonb := '[]'::jsonb;
begin
  if p_status in ('Accounting-On', 'Accounting-Off') then
    update accounting_sessions
       set stopped_at = coalesce(stopped_at, p_now),
           updated_at = case when stopped_at is null then p_now else updated_at end,
           restarted_at = p_now
     where network_id = p_network_id and restarted_at is null
       and case when p_nas_ip is not null then nas_ip = p_nas_ip
                else nas_identifier is not distinct from nullif(p_nas_identifier, '') end;
    return jsonb_build_object('recorded', false, 'ended', v_ended);
  end if;
  if coalesce(p_mac, '') = '' or coalesce(p_session_id, '') = '' then
    return jsonb_build_object('recorded', false, 'ended', v_ended);
  end if;

  -- The session's latest row (a session passed to a new identification has its newest row there),
  -- whether its identification was replaced, and what all its rows were charged; one read in the
  -- common case of a session that stays with its identification.
  select s.id, s.identification_id, s.token_id, s.input_octets, s.output_octets,
         sum(s.input_octets) over () as all_in, sum(s.output_octets) over () as all_out,
         coalesce(i.end_reason = 'replaced', false) as replaced
    into v_last
    from accounting_sessions s left join identifications i on i.id = s.identification_id
   where s.network_id = p_network_id and s.mac = p_mac and s.acct_session_id = p_session_id and s.restarted_at is null
   order by s.id desc
   limit 1;
  -- A session passes to the device's new identification only if the one it was charged to ended
  -- as `replaced` (the device was not de-authorised); after any other end the NAS was told to cut
  -- it, and what it still reports (a late Stop) is that session's own.
  if v_last.id is null or v_last.replaced then
    select * into v_live from identifications
     where mac = p_mac and ended_at is null and contract_id = p_contract_id;
  end if;
  if v_live.id is not null then
    -- A new identification's row counts from what the session's earlier rows were charged.
    v_ident := v_live.id;
    v_token := v_live.token_id;
    v_base_in := coalesce(v_last.all_in, 0);
    v_base_out := coalesce(v_last.all_out, 0);
  elsif v_last.id is not null then
    v_ident := v_last.identification_id;
    v_token := v_last.token_id;
    v_base_in := v_last.all_in - v_last.input_octets;
    v_base_out := v_last.all_out - v_last.output_octets;
  else
    return jsonb_build_object('recorded', false, 'ended', v_ended);
  end if;

  -- One copy's accounting at a time: two sessions reported at once cannot both stay under the quota.
  if v_token is not null then
    select quota_mb, status into v_quota, v_status from tokens where id = v_token for update;
  end if;

  insert into accounting_sessions as s (network_id, contract_id, mac, acct_session_id, identification_id, token_id,
                                        framed_ip, nas_ip, nas_identifier, input_octets, output_octets,
                                        started_at, updated_at, stopped_at)
  values (p_network_id, p_contract_id, p_mac, p_session_id, v_ident, v_token, p_framed_ip, p_nas_ip,
          nullif(p_nas_identifier, ''), greatest(v_in - v_base_in, 0), greatest(v_out - v_base_out, 0), p_now, p_now,
          case when p_status = 'Stop' then p_now end)
  on conflict (network_id, mac, acct_session_id, identification_id) where restarted_at is null do update
     set input_octets = greatest(s.input_octets, excluded.input_octets),
         output_octets = greatest(s.output_octets, excluded.output_octets),
         framed_ip = coalesce(excluded.framed_ip, s.framed_ip),
         nas_ip = coalesce(excluded.nas_ip, s.nas_ip),
         nas_identifier = coalesce(excluded.nas_identifier, s.nas_identifier),
         updated_at = greatest(s.updated_at, excluded.updated_at),
         stopped_at = coalesce(s.stopped_at, excluded.stopped_at);

  if v_token is not null then
    select coalesce(sum(input_octets::numeric + output_octets), 0) into v_used from accounting_sessions where token_id = v_token;
    if v_quota is not null and v_status = 'active' and v_used >= v_quota::numeric * 1048576 then
      select coalesce(jsonb_agg(to_jsonb(e)), '[]'::jsonb) into v_ended
        from kalitka_end_identification(array[v_token], null, 'quota_exceeded', p_now) e;
    end if;
  end if;
  return jsonb_build_object('recorded', true, 'tokenId', v_token, 'usedBytes', v_used,
    'quotaBytes', v_quota::numeric * 1048576, 'ended', v_ended);
end
$$;

-- The same, for FreeRADIUS's rlm_sql (deploy/freeradius/mods-available/kalitka_sql, its accounting
-- queries): the attributes as rlm_sql puts them in the query (text, '' when absent). The network
-- and the MAC are kalitka_radius_network's, as for kalitka_radius_check (by id, else the one
-- network with that nasIdentifier; a deleted network or a disabled contract serves nobody and is
-- recorded nowhere; Calling-Station-Id, else User-Name). Always one row, so rlm_sql counts the
-- query as done and FreeRADIUS answers the NAS; a request naming no network or device records
-- nothing. An end at the quota is written here, but the cache of the HTTP session-state answers
-- is not told (only the rest path can): they follow within the session cache's TTL (300 s).
-- `security definer` as kalitka_radius_check: the FreeRADIUS role needs only EXECUTE.
create or replace function kalitka_radius_account(
  p_nas text,
  p_mac text,
  p_user_name text,
  p_status text,
  p_session_id text,
  p_in_octets text,
  p_in_gigawords text,
  p_out_octets text,
  p_out_gigawords text,
  p_framed_ip text,
  p_nas_ip text,
  p_now timestamptz default now()
) returns table (recorded boolean)
language plpgsql security definer set search_path from current as $$
#variable_conflict use_column
declare
  v_net record;
  v_answer jsonb;
  v_num text := '^[0-9]{1,10}$';
  v_ip text := '^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$';
begin
  v_net := kalitka_radius_network(p_nas, p_mac, p_user_name);
  if v_net.network_id is null then
    return query select false;
    return;
  end if;
  v_answer := kalitka_account(v_net.network_id, v_net.contract_id, v_net.mac, p_status, nullif(p_session_id, ''),
    case when p_in_octets ~ v_num then least(p_in_octets::bigint, 4294967295) else 0 end,
    case when p_in_gigawords ~ v_num then least(p_in_gigawords::bigint, 4294967295) else 0 end,
    case when p_out_octets ~ v_num then least(p_out_octets::bigint, 4294967295) else 0 end,
    case when p_out_gigawords ~ v_num then least(p_out_gigawords::bigint, 4294967295) else 0 end,
    case when p_framed_ip ~ v_ip then p_framed_ip::inet end,
    case when p_nas_ip ~ v_ip then p_nas_ip::inet end,
    p_nas, p_now);
  return query select (v_answer ->> 'recorded')::boolean;
end
$$;

revoke all on function kalitka_radius_account(text, text, text, text, text, text, text, text, text, text, text, timestamptz) from public;
