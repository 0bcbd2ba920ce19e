-- A user's role within their contract. `operator` does everything in the contract; `issuer`
-- (a reception desk, a kiosk) may only list, generate, print and annul tokens and note issuedTo.
-- System administrators are always operators.
alter table users add column role text not null default 'operator'
  check (role in ('operator', 'issuer'));
alter table users add constraint users_system_is_operator check (not is_system or role = 'operator');
