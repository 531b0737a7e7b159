-- The personal data store (pds/store.py): versions of each citizen's areas, the data keys
-- wrapped for each recipient, and the encrypted envelopes themselves.
CREATE TABLE versions (
    citizen text NOT NULL, area text NOT NULL, version integer NOT NULL, key_version integer NOT NULL,
    blob text NOT NULL, writer text NOT NULL, written_by text NOT NULL, created_at double precision NOT NULL,
    PRIMARY KEY (citizen, area, version)
);
CREATE TABLE wrapped_keys (
    citizen text NOT NULL, area text NOT NULL, key_version integer NOT NULL, recipient text NOT NULL,
    wrapped text NOT NULL, PRIMARY KEY (citizen, area, key_version, recipient)
);
CREATE TABLE pds_blobs (owner text NOT NULL, digest text NOT NULL, data bytea NOT NULL, PRIMARY KEY (owner, digest));
