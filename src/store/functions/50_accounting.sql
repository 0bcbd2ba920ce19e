-- RADIUS accounting (DESIGN §1 rule 13, §4 "Session state"), the one definition for both RADIUS
-- paths: src/domain/accounting.ts (rlm_rest → POST /api/v1/radius/accounting) and the rlm_sql site
-- (deploy/freeradius/mods-available/kalitka_sql, through kalitka_radius_account below).
--   - One row per NAS session (network, MAC, Acct-Session-Id) keeps the HIGHEST counters reported
--     for it: counters only grow within a NAS session, so a duplicate or an Interim-Update that
--     arrives after a later one changes nothing, and nothing is counted twice.
--   - A session is charged to the identification live when the NAS first reported it (and to
--     its token copy); a device with no live identification in the network's contract is not
--     recorded at all (an unknown MAC leaves no row).
--   - A copy's usage is the sum over its sessions (both directions, 64-bit: octets + gigawords
--     * 2^32). When it reaches the copy's quota_mb MiB, the copy's identification ends with
--     reason quota_exceeded (kalitka_end_identification: copy `expired`, revoke queued).
--   - Accounting-On / Accounting-Off (the NAS restarted): its open sessions are closed.
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
  v_row accounting_sessions;
  v_live identifications;
  v_ident bigint;
  v_token uuid;
  v_quota bigint;
  v_status text;
  v_used bigint := 0;
  v_in bigint := coalesce(p_in_gigawords, 0) * 4294967296 + coalesce(p_in_octets, 0);
  v_out bigint := coalesce(p_out_gigawords, 0) * 4294967296 + coalesce(p_out_octets, 0);
  v_ended jsonb := '[]'::jsonb;
begin
  if p_status in ('Accounting-On', 'Accounting-Off') then
    update accounting_sessions set stopped_at = p_now, updated_at = p_now
     where network_id = p_network_id and stopped_at is null
       and (nas_identifier is not distinct from p_nas_identifier or nas_ip = p_nas_ip);
    return jsonb_build_object('recorded', false, 'ended', v_ended);
  end if;
  if coalesce(p_mac, '') = '' or coalesce(p_session_id, '') = '' then
    return jsonb_build_object('recorded', false, 'ended', v_ended);
  end if;

  select * into v_row from accounting_sessions
   where network_id = p_network_id and mac = p_mac and acct_session_id = p_session_id;
  if v_row.id is null then
    select * into v_live from identifications
     where mac = p_mac and ended_at is null and contract_id = p_contract_id;
    if v_live.id is null then
      return jsonb_build_object('recorded', false, 'ended', v_ended);
    end if;
    v_ident := v_live.id;
    v_token := v_live.token_id;
  else
    v_ident := v_row.identification_id;
    v_token := v_row.token_id;
  end if;

  -- One copy's accounting at a time: two sessions reported at once cannot both stay under the quota.
  if v_token is not null then
    select quota_mb, status into v_quota, v_status from tokens where id = v_token for update;
  end if;

  insert into accounting_sessions as s (network_id, contract_id, mac, acct_session_id, identification_id, token_id,
                                        framed_ip, nas_ip, nas_identifier, input_octets, output_octets,
                                        started_at, updated_at, stopped_at)
  values (p_network_id, p_contract_id, p_mac, p_session_id, v_ident, v_token, p_framed_ip, p_nas_ip,
          nullif(p_nas_identifier, ''), v_in, v_out, p_now, p_now, case when p_status = 'Stop' then p_now end)
  on conflict (network_id, mac, acct_session_id) do update
     set input_octets = greatest(s.input_octets, excluded.input_octets),
         output_octets = greatest(s.output_octets, excluded.output_octets),
         framed_ip = coalesce(excluded.framed_ip, s.framed_ip),
         nas_ip = coalesce(excluded.nas_ip, s.nas_ip),
         nas_identifier = coalesce(excluded.nas_identifier, s.nas_identifier),
         updated_at = greatest(s.updated_at, excluded.updated_at),
         stopped_at = coalesce(s.stopped_at, excluded.stopped_at)
  returning * into v_row;

  if v_token is not null then
    select coalesce(sum(input_octets + output_octets), 0) into v_used from accounting_sessions where token_id = v_token;
    if v_quota is not null and v_status = 'active' and v_used >= v_quota * 1048576 then
      select coalesce(jsonb_agg(to_jsonb(e)), '[]'::jsonb) into v_ended
        from kalitka_end_identification(array[v_token], null, 'quota_exceeded', p_now) e;
    end if;
  end if;
  return jsonb_build_object('recorded', true, 'tokenId', v_token, 'usedBytes', v_used,
    'quotaBytes', v_quota * 1048576, 'ended', v_ended);
end
$$;
