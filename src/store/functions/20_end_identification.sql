-- The one definition of an identification's end (DESIGN §1 rules 7, 8, 9), used by annul, delete,
-- the expiry sweep (through src/store/identifications.ts) and by kalitka_activate (identified
-- elsewhere, replaced). It ends the live identifications of the copies named in p_token_ids, or the
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
  v_ended identifications[];
begin
  -- Each branch finds its rows through an index (an `or` of the two would scan the table).
  if cardinality(p_identification_ids) > 0 then
    with ended as (
      update identifications i
         set ended_at = case when i.expires_at <= p_now then i.expires_at else p_now end,
             end_reason = case when i.expires_at <= p_now then 'expired' else p_reason end
       where i.id = any(p_identification_ids) and i.ended_at is null
      returning i as ident)
    select coalesce(array_agg(ident), '{}') into v_ended from ended;
  else
    with ended as (
      update identifications i
         set ended_at = case when i.expires_at <= p_now then i.expires_at else p_now end,
             end_reason = case when i.expires_at <= p_now then 'expired' else p_reason end
       where i.token_id = any(p_token_ids) and i.ended_at is null
      returning i as ident)
    select coalesce(array_agg(ident), '{}') into v_ended from ended;
  end if;

  -- The copies named, and those of the identifications that ended, get their final status.
  -- A copy that used up its quota is spent like one whose term ran out: `expired`.
  update tokens
     set status = case when expires_at <= p_now or p_reason = 'quota_exceeded' then 'expired' else 'annulled' end,
         end_reason = case when expires_at <= p_now then 'expired' else p_reason end
   where status = 'active'
     -- A copy that moved to another device (rebindOnReentry) lives on there.
     and p_reason <> 'moved'
     and id = any(coalesce(p_token_ids, '{}') || array(select (unnest(v_ended)).token_id));

  perform kalitka_enqueue_events(v_ended, p_now, p_entering_network);
  return query select * from unnest(v_ended);
end
$$;
