-- The one definition of an identification's end (DESIGN §1 rules 7, 8, 9), used by annul, delete,
-- the expiry sweep (through src/store/identifications.ts) and by kalitka_activate (identified
-- elsewhere, replaced). It ends the live identifications of the copies named in p_token_ids and the
-- identifications named in p_identification_ids, moves their copies to a final status, and queues
-- the controller and webhook calls. A copy whose term has already passed ends as `expired` at its
-- expiry instant, whatever reason the caller gave, so the log tells the truth. The caller then
-- writes a cache tombstone for each returned device (src/domain/identifications.ts, forgetEnded).
create or replace function kalitka_end_identification(
  p_token_ids uuid[],
  p_identification_ids bigint[],
  p_reason text,
  p_now timestamptz,
  -- The network a device is entering: it is not de-authorised there.
  p_entering_network uuid default null
) returns setof identifications language plpgsql as $$
declare
  v_tokens uuid[];
  v_ended identifications[];
begin
  v_tokens := coalesce(p_token_ids, '{}'::uuid[]) || array(
    select token_id from identifications
     where id = any(coalesce(p_identification_ids, '{}'::bigint[])) and token_id is not null);

  update tokens
     set status = case when expires_at <= p_now then 'expired' else 'annulled' end,
         end_reason = case when expires_at <= p_now then 'expired' else p_reason end
   where id = any(v_tokens) and status = 'active';

  with ended as (
    update identifications i
       set ended_at = case when i.expires_at <= p_now then i.expires_at else p_now end,
           end_reason = case when i.expires_at <= p_now then 'expired' else p_reason end
     where i.ended_at is null
       and (i.token_id = any(v_tokens) or i.id = any(coalesce(p_identification_ids, '{}'::bigint[])))
    returning i as ident)
  select coalesce(array_agg(ident), '{}'::identifications[]) into v_ended from ended;

  perform kalitka_enqueue_events(v_ended, p_now, p_entering_network);
  return query select * from unnest(v_ended);
end
$$;
