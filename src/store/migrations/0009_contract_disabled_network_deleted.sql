-- A system administrator may disable a contract: its networks' portals, its session answers and
-- its operators' credentials stop working until it is enabled again. Nothing is deleted.
alter table contracts add column disabled_at timestamptz;

-- A deleted network leaves the lists and serves nobody, but its row stays: the controller calls
-- that de-authorise its last devices still need its settings, and the identification log still
-- names it. Its nasIdentifier is dropped at deletion, so a new network may answer to that name.
alter table networks add column deleted_at timestamptz;
create index networks_contract_live on networks (contract_id) where deleted_at is null;
