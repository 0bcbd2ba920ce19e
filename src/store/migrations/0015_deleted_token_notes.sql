-- Rule 11/12: the identification log keeps to whom a slip was issued after its token is deleted.
-- Log rows are append-only and keep only the token's id; the note goes here when the token row
-- goes, and leaves once retention has taken every log row of the token (they ended by its deletion).
create table deleted_token_notes (
  token_id uuid primary key,
  contract_id uuid not null,
  issued_to text not null,
  deleted_at timestamptz not null
);
