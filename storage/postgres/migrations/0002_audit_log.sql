-- The audit log (storage/log.py): entries, perfect-subtree hashes, signed checkpoints,
-- meta values, private lookup keys, append claims and on-chain anchors.
CREATE TABLE log_entries (idx bigint PRIMARY KEY, data bytea NOT NULL);
CREATE TABLE log_nodes (id bigint PRIMARY KEY, hash bytea NOT NULL);  -- id = level << 48 | index
CREATE TABLE log_checkpoints (
    size bigint PRIMARY KEY, root bytea NOT NULL, note text NOT NULL, created_at double precision NOT NULL
);
CREATE TABLE log_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE log_entry_index (key text NOT NULL, idx bigint NOT NULL, PRIMARY KEY (key, idx));
CREATE TABLE log_claims (
    key text PRIMARY KEY, expires_at double precision NOT NULL, first bigint NOT NULL, owner text NOT NULL
);
CREATE INDEX log_claims_by_expiry ON log_claims (expires_at);
CREATE TABLE log_anchors (
    size bigint PRIMARY KEY, root bytea NOT NULL, tx text NOT NULL, block bigint NOT NULL,
    anchor_index bigint NOT NULL, created_at double precision NOT NULL
);

-- The tree head: one row. Every append batch, from any replica, locks it FOR UPDATE (the
-- coordination row: batches get their indices one after another) and moves it by
-- compare-and-swap, so two writers can never both extend the same tree.
CREATE TABLE log_head (id smallint PRIMARY KEY CHECK (id = 1), size bigint NOT NULL);
INSERT INTO log_head (id, size) VALUES (1, 0);
