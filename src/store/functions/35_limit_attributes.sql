-- The one definition of the RADIUS attributes that carry a session's limits (DESIGN §1 rule 13,
-- §4 "POST /api/v1/radius/authorize"). kalitka_radius_check (the rlm_sql path) adds them to its
-- answer; the rlm_rest path (src/domain/radius.ts) and the CoA-Request (src/worker/outbox.ts) ask
-- this function through src/store/radius.ts, so the names, units and splits live here only.
-- Names are FreeRADIUS's own dictionaries' (/usr/share/freeradius/dictionary.wispr, .mikrotik,
-- .chillispot):
--   WISPr-Bandwidth-Max-Down/-Up     bit/s, every NAS kind (CoovaChilli reads them too)
--   Mikrotik-Rate-Limit              "rx/tx" from the router's side: rx = the guest's upload,
--                                    "NNNk" = NNN kbit/s, "0" = no limit on that side
--   Mikrotik-Total-Limit(-Gigawords) the quota in bytes, low 32 bits and the 4 GiB units above
--   ChilliSpot-Bandwidth-Max-Down/-Up kbit/s (chilli multiplies them by 1000)
--   ChilliSpot-Max-Total-Octets      the quota in bytes; the FreeRADIUS dictionary has no
--                                    ChilliSpot-Max-Total-Gigawords, so a quota above 4 GiB - 1 is
--                                    sent as 4 GiB - 1 (the NAS ends the session there; the next
--                                    Access-Request gets what is left)
-- RADIUS integers are 32 bits unsigned: bit/s values above 4 294 967 295 (4.29 Gbit/s) are sent as
-- that. p_bytes is the quota still left (null: none); null speeds are unlimited.
create or replace function kalitka_limit_attributes(
  p_controller text, p_down_kbps integer, p_up_kbps integer, p_bytes bigint
) returns table (attribute text, value text)
language sql immutable as $$
  select a.attribute, a.value from (values
    -- least() and greatest() skip nulls: every value is null when its limit is.
    (1, 'WISPr-Bandwidth-Max-Down', case when p_down_kbps is not null then least(p_down_kbps::bigint * 1000, 4294967295)::text end),
    (2, 'WISPr-Bandwidth-Max-Up', case when p_up_kbps is not null then least(p_up_kbps::bigint * 1000, 4294967295)::text end),
    (3, case when p_controller = 'mikrotik' then 'Mikrotik-Rate-Limit' end,
        case when p_down_kbps is not null or p_up_kbps is not null
             then coalesce(p_up_kbps || 'k', '0') || '/' || coalesce(p_down_kbps || 'k', '0') end),
    -- A quota used up is 1 byte, never 0 (0 means "no limit" to some NASes).
    (4, case when p_controller = 'mikrotik' then 'Mikrotik-Total-Limit' end,
        case when p_bytes is not null then (greatest(p_bytes, 1) % 4294967296)::text end),
    (5, case when p_controller = 'mikrotik' then 'Mikrotik-Total-Limit-Gigawords' end,
        case when p_bytes is not null then (greatest(p_bytes, 1) / 4294967296)::text end),
    (6, case when p_controller = 'coova' then 'ChilliSpot-Bandwidth-Max-Down' end, p_down_kbps::text),
    (7, case when p_controller = 'coova' then 'ChilliSpot-Bandwidth-Max-Up' end, p_up_kbps::text),
    (8, case when p_controller = 'coova' then 'ChilliSpot-Max-Total-Octets' end,
        case when p_bytes is not null then least(greatest(p_bytes, 1), 4294967295)::text end)
  ) as a (n, attribute, value)
  where a.attribute is not null and a.value is not null
  order by a.n
$$;
