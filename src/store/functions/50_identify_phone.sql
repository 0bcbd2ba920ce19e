-- A device identified by phone in a network (DESIGN §1 rule 16), in one round trip, called by
-- src/domain/phone/identify.ts once the provider or the typed code confirmed the number. Rule 7
-- across methods: the device's live identification elsewhere (a token's or a phone's) ends as
-- identified_elsewhere, one in this contract as replaced, one past its term as expired — all by
-- kalitka_end_identification, which annuls a token copy it used. The same device confirming the
-- same number again in the same contract while its identification lives gets that one back.
-- Returns {"existing", "identification", "ended"}. Racing starts of one device meet on the unique
-- index of live identifications (unique_violation): the caller runs it again and sees the winner.
create or replace function kalitka_identify_phone(
  p_mac text, p_network_id uuid, p_contract_id uuid, p_now timestamptz, p_days integer,
  p_phone_sealed text, p_phone_hash text, p_phone_method text, p_provider text, p_reference text,
  p_terms_version text default null
) returns jsonb language plpgsql as $$
declare
  v_live identifications;
  v_started identifications;
  v_ended identifications;
begin
  select * into v_live from identifications where mac = p_mac and ended_at is null for update;
  if v_live.id is not null and v_live.method = 'phone' and v_live.contract_id = p_contract_id
     and v_live.phone_hash = p_phone_hash and (v_live.expires_at is null or v_live.expires_at > p_now) then
    return jsonb_build_object('existing', true, 'identification', to_jsonb(v_live), 'ended', '[]'::jsonb);
  end if;
  if v_live.id is not null then
    select * into v_ended from kalitka_end_identification(null, array[v_live.id],
      case when v_live.contract_id = p_contract_id then 'replaced' else 'identified_elsewhere' end,
      p_now, p_network_id);
  end if;

  insert into identifications (mac, network_id, contract_id, token_id, code, method, started_at, expires_at,
                               terms_version, phone_sealed, phone_hash, phone_method, phone_provider, phone_reference)
  values (p_mac, p_network_id, p_contract_id, null, null, 'phone', p_now,
          p_now + p_days * interval '24 hours', p_terms_version, p_phone_sealed, p_phone_hash, p_phone_method,
          p_provider, p_reference)
  returning * into v_started;
  perform kalitka_enqueue_events(array[v_started], p_now);

  return jsonb_build_object('existing', false, 'identification', to_jsonb(v_started),
    'ended', case when v_ended.id is null then '[]'::jsonb else jsonb_build_array(to_jsonb(v_ended)) end);
end
$$;
