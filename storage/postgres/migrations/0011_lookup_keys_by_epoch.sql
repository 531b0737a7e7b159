-- The log's private lookup index ordered by epoch (storage/log.py, KEY_EPOCH_BITS): the keys
-- of every data access go to the epoch of their entry, so appends insert only into the
-- recent part of the index, which stays as small as an empty log's, where keys at random
-- places of one index of the whole log dirty a page each and halve the append rate as the
-- log grows. Keys written once per event, and every row already here, are in the lasting
-- epoch (-1), ordered by key as before.
ALTER TABLE log_entry_index ADD COLUMN epoch integer NOT NULL DEFAULT -1;
ALTER TABLE log_entry_index ALTER COLUMN epoch DROP DEFAULT;
ALTER TABLE log_entry_index DROP CONSTRAINT log_entry_index_pkey, ADD PRIMARY KEY (epoch, key, idx);
