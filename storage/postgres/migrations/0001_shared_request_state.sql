-- The state every replica must see at once for each signed request.

-- Accepted (key id, nonce) pairs, kept for their replay window (ledger.request_auth).
CREATE TABLE request_nonces (
    key_id text NOT NULL,
    nonce text NOT NULL,
    expires_at double precision NOT NULL,
    PRIMARY KEY (key_id, nonce)
);
CREATE INDEX request_nonces_by_expiry ON request_nonces (expires_at);

-- Fixed-window rate-limit counters. UNLOGGED: no WAL, so counting costs no fsync; after a
-- server crash the table starts empty, which only forgives the current window.
CREATE UNLOGGED TABLE rate_counters (
    key text PRIMARY KEY,
    count bigint NOT NULL,
    expires_at double precision NOT NULL
);
