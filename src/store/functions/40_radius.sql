-- RADIUS MAC authentication answered inside PostgreSQL, for FreeRADIUS's rlm_sql
-- (deploy/freeradius/mods-available/kalitka_sql): one query per Access-Request, no HTTP. The rules
-- are src/domain/radius.ts and sessionState's (src/domain/sessions.ts), read from the tables the
-- cache is filled from:
--   - the network and the MAC are kalitka_radius_network's (38_radius_network.sql): the network
--     whose id is the NAS-Identifier, else the one network whose `nasIdentifier` setting it is
--     (two such networks: nobody, as the HTTP path's 409); a deleted network or a disabled
--     contract serves nobody;
--   - the device is authorised while it has a live identification (not ended: annul and delete end
--     it at once) in the network's contract whose expiry is unset or after now — "no" from the
--     expiry instant, swept or not;
--   - a User-Name naming another MAC than Calling-Station-Id is refused (a MAC is one device).
-- Rows are shaped like rlm_sql's radcheck (id, username, attribute, value, op): `Auth-Type := Accept`,
-- for a limited identification `Session-Timeout := <seconds left, at least 1>`, and the limits of
-- its token copy as kalitka_limit_attributes names them for the network's controller. rlm_sql puts
-- them in the control list (`:=` always matches) and the site copies all but Auth-Type to the reply:
-- one query decides both, so the answer cannot be "accepted" by one read and "unlimited" by a later
-- one that no longer sees an identification annulled in between.
-- `security definer` with the search_path Kalitka migrates under: a FreeRADIUS role needs only
-- EXECUTE on this function (deploy/freeradius/README.md), no right on any table.

-- p_now is for tests that check the expiry instant exactly; FreeRADIUS leaves it to now().
create or replace function kalitka_radius_check(
  p_nas text,
  p_mac text,
  p_user_name text default null,
  p_now timestamptz default now()
) returns table (id integer, username text, attribute text, value text, op text)
language plpgsql stable security definer set search_path from current as $$
#variable_conflict use_column
declare
  v_net record;
  v_mac text;
  v_named text := btrim(p_user_name, E' \t\r\n');
  v_contract uuid;
  v_controller text;
  v_expires timestamptz;
  v_down integer;
  v_up integer;
  v_quota bigint;
  v_token uuid;
begin
  -- An assignment, not `select … into`: evaluated as a simple expression, without an executor
  -- start for every Access-Request.
  v_net := kalitka_radius_network(p_nas, p_mac, p_user_name);
  v_contract := v_net.contract_id;
  v_controller := v_net.controller;
  v_mac := v_net.mac;
  -- A User-Name that is no MAC (a login name) names no device; one that is must be this one.
  v_named := case when v_named ~ '^[0-9a-fA-F]{2}([:-]?)[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$'
                    or v_named ~ '^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$'
                  then upper(translate(v_named, ':.-', '')) end;
  if v_mac is null or v_contract is null or (v_named is not null and v_named <> replace(v_mac, ':', '')) then
    return;
  end if;
  select i.expires_at, t.id, t.down_kbps, t.up_kbps, t.quota_mb into v_expires, v_token, v_down, v_up, v_quota
    from identifications i left join tokens t on t.id = i.token_id
   where i.mac = v_mac and i.ended_at is null and i.contract_id = v_contract
     and (i.expires_at is null or i.expires_at > p_now);
  if not found then
    return;
  end if;
  return query select 1, v_mac, 'Auth-Type'::text, 'Accept'::text, ':='::text;
  if v_expires is not null then
    -- Less than a second left still counts; a Session-Timeout of 0 means "none" to some NASes.
    return query select 2, v_mac, 'Session-Timeout'::text,
      greatest(1, floor(extract(epoch from v_expires - p_now)))::bigint::text, ':='::text;
  end if;
  -- Rule 13: what is left of the quota is the quota less what accounting charged to the copy.
  if v_down is not null or v_up is not null or v_quota is not null then
    return query select (2 + row_number() over ())::integer, v_mac, a.attribute, a.value, ':='::text
      from kalitka_limit_attributes(v_controller, v_down, v_up,
             (v_quota * 1048576 - coalesce((select sum(s.input_octets + s.output_octets) from accounting_sessions s where s.token_id = v_token), 0))::bigint) a;
  end if;
end
$$;

-- Only roles granted EXECUTE (Kalitka's own, as owner, and the FreeRADIUS role) may ask.
revoke all on function kalitka_radius_check(text, text, text, timestamptz) from public;
