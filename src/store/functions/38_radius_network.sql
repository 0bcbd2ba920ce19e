-- The network and the device a RADIUS request names, for the SQL path's kalitka_radius_check and
-- kalitka_radius_account (one definition of both lookups, as networkForNas and src/domain/mac.ts
-- are on the HTTP path):
--   - the network is the one whose id is the NAS-Identifier, else the one network whose
--     `nasIdentifier` setting it is (two such networks: none, as the HTTP path's 409);
--     a deleted network or a disabled contract serves nobody: all three columns null;
--   - the MAC is Calling-Station-Id, else User-Name, normalised as src/domain/mac.ts does
--     (`aa:bb:..`, `AA-BB-..`, `aabb.ccdd.eeff`, bare hex → `AA:BB:CC:DD:EE:FF`); null when it is none.
-- The MAC is normalised in PL/pgSQL expressions: a helper SQL function with its own search_path
-- cannot be inlined and was planned on every call (a third of the throughput). No `security
-- definer` and no search_path of its own: it runs inside the two callers (which have both), and a
-- SET clause would cost every Access-Request a configuration save and restore.
create or replace function kalitka_radius_network(
  p_nas text,
  p_mac text,
  p_user_name text,
  out network_id uuid,
  out contract_id uuid,
  out controller text,
  out mac text
)
language plpgsql stable as $$
declare
  v_count integer;
  v_serving boolean;
begin
  mac := btrim(coalesce(nullif(p_mac, ''), p_user_name), E' \t\r\n');
  mac := case when mac ~ '^[0-9a-fA-F]{2}([:-]?)[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$'
                or mac ~ '^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$'
              then upper(translate(mac, ':.-', '')) end;
  mac := substr(mac, 1, 2) || ':' || substr(mac, 3, 2) || ':' || substr(mac, 5, 2) || ':' ||
         substr(mac, 7, 2) || ':' || substr(mac, 9, 2) || ':' || substr(mac, 11, 2);
  if coalesce(p_nas, '') = '' then
    return;
  end if;
  -- By id first (only a network that serves), as networkForNas.
  if p_nas ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    select n.id, n.contract_id, n.controller into network_id, contract_id, controller
      from networks n join contracts c on c.id = n.contract_id
     where n.id = p_nas::uuid and n.deleted_at is null and c.disabled_at is null;
  end if;
  if network_id is null then
    -- One query: the network named so, whether it serves, and whether it is the only one.
    select n.id, n.contract_id, n.controller, n.deleted_at is null and c.disabled_at is null, count(*) over ()
      into network_id, contract_id, controller, v_serving, v_count
      from networks n join contracts c on c.id = n.contract_id
     where n.settings ->> 'nasIdentifier' = p_nas
     limit 2;
    if v_count is distinct from 1 or not v_serving then
      network_id := null;
      contract_id := null;
      controller := null;
    end if;
  end if;
end
$$;

-- Its callers run as the owner; nobody else needs it.
revoke all on function kalitka_radius_network(text, text, text) from public;
