-- The tree's right edge (the hashes of its perfect subtrees, left to right, 32 bytes each)
-- kept with the head: a writer whose last append was not the latest reads it with the head
-- row's lock instead of one more query for the stored nodes. It counts only while
-- edge_size = size (a head moved by code from before this migration leaves it behind);
-- otherwise the writer reads the nodes.
ALTER TABLE log_head ADD COLUMN edge bytea, ADD COLUMN edge_size bigint;
