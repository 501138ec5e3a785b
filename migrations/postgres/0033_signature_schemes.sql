-- Which HTTP signature profile each remote host accepted, version 33
-- (PostgreSQL). Keep in step with migrations/sqlite/0033_signature_schemes.sql.
--
-- Gazette signs deliveries and signed GETs with RFC 9421 or draft-cavage
-- and "double-knocks": a host that refuses one (400/401) is asked again at
-- once with the other. What worked is kept here, per host, so every process
-- and every restart starts with it; `learned_at` is when it was learned (not
-- refreshed by each success), so the preferred profile is tried again once
-- it is old enough (crates/federation/src/signatures/knock.rs).
CREATE TABLE signature_schemes (
    host TEXT PRIMARY KEY,
    scheme TEXT NOT NULL CHECK (scheme IN ('rfc9421', 'draft-cavage')),
    learned_at BIGINT NOT NULL
);
