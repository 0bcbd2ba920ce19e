-- A contract's time zone (IANA name): portal, panel, PDF and CSV show its times in it.
-- Null on contracts made before this column: they show the server's default (KALITKA_TIME_ZONE).
alter table contracts add column time_zone text;
