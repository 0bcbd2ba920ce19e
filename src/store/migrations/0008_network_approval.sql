-- Whether a system administrator saved or approved the network's outbound targets (unifiUrl,
-- webhookUrl, radiusHost). Only then may the server call them at private addresses (RFC 1918,
-- 100.64/10, fc00::/7). An operator's change of a target clears it. Existing networks start
-- unapproved: their private targets wait for a system administrator, as a new operator's would.
alter table networks add column if not exists targets_approved boolean not null default false;
