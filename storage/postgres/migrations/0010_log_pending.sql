-- Appends waiting for the log's sequencer (storage/postgres/sequencer.py). Each replica
-- stores its group commits here, their claims in log_claims in the same transaction; the
-- one process holding the sequencer's advisory lock moves them into the tree in batches,
-- in id order, and deletes them in that transaction. `request` is the append as
-- storage/append_codec.py encodes it; `claim` finds a request its appender withdraws.
CREATE TABLE log_pending (id bigserial PRIMARY KEY, claim text NOT NULL, request bytea NOT NULL);

-- The tree head's compare-and-swap as one statement that fails the transaction when the
-- head has left `old_size` (SQLSTATE MYD01): sent with the batch's writes, it needs no
-- round trip of its own, and the commit it rides with reports it.
CREATE FUNCTION log_advance(old_size bigint, new_size bigint, new_edge bytea) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE log_head SET size = new_size, edge = new_edge, edge_size = new_size WHERE id = 1 AND size = old_size;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the tree head left size % during this append: nothing was written', old_size USING ERRCODE = 'MYD01';
    END IF;
END $$;
