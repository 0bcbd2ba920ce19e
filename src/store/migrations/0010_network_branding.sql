-- Branding per network (DESIGN §4 "Guest portal"): the display name, accent colour, support contact
-- and terms of use are controller-independent settings; the logo is an uploaded image kept here,
-- apart from the networks row so that a network lookup never carries it.
create table network_logos (
  network_id uuid primary key references networks (id) on delete cascade,
  content_type text not null check (content_type in ('image/png', 'image/jpeg', 'image/webp')),
  body bytea not null check (octet_length(body) between 1 and 262144),
  updated_at timestamptz not null
);
-- The logo's version (a hash of its bytes), on the row every portal page already reads: the page
-- links /portal/:id/logo?v=<version>, so a browser may keep it until it changes.
alter table networks add column logo_version text;

-- The version of the terms of use the guest accepted when this identification started (null when
-- the network asked for none, or the identification did not come from the portal's form).
alter table identifications add column terms_version text;

-- kalitka_activate gains p_terms_version; the old signature would stay beside it as an overload.
drop function if exists kalitka_activate(text, text, uuid, uuid, text, timestamptz);
