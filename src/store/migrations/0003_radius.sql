-- A RADIUS server names the hotspot by NAS-Identifier; a network may carry it as its
-- `nasIdentifier` setting, looked up on every Access-Request.
create index networks_nas_identifier on networks ((settings ->> 'nasIdentifier'))
  where settings ->> 'nasIdentifier' is not null;

-- The identification log export walks one contract's rows in id order, a page at a time.
create index identifications_contract_id on identifications (contract_id, id);
