-- Ended consents (storage/directory.py): the notifier notes each ending it reads in the log
-- (consent_endings); once ended long enough ago, a consent's index row, request and purposes
-- move into one compact archived document, so the hot tables hold live consents only.
CREATE TABLE consent_endings (consent_id text PRIMARY KEY, ended_at double precision NOT NULL);
CREATE INDEX endings_by_time ON consent_endings (ended_at);
CREATE TABLE archived_consents (consent_id text PRIMARY KEY, citizen text NOT NULL, document text NOT NULL);
CREATE INDEX archived_by_citizen ON archived_consents (citizen);
