-- The operator's directory (storage/directory.py): services, consent requests, the
-- consent index the release path decides from, and citizens' published encryption keys.
CREATE TABLE services (
    id text PRIMARY KEY, name text NOT NULL, description text NOT NULL, callback_url text NOT NULL,
    sign_key text NOT NULL, enc_key text NOT NULL, registered_at double precision NOT NULL
);
CREATE TABLE consent_requests (
    id text PRIMARY KEY, service_id text NOT NULL REFERENCES services (id), citizen text NOT NULL,
    purposes text NOT NULL, permissions text NOT NULL, duration_days integer NOT NULL,
    notice_url text NOT NULL, notice_sha256 text NOT NULL, status text NOT NULL,
    created_at double precision NOT NULL, decided_at double precision, consent_id text, receipt text
);
CREATE INDEX requests_by_citizen ON consent_requests (citizen, status);
CREATE TABLE consents (
    consent_id text PRIMARY KEY, service_id text NOT NULL, citizen text NOT NULL,
    permissions text NOT NULL, expires_at bigint NOT NULL, request_id text NOT NULL
);
CREATE INDEX consents_by_holder ON consents (citizen, service_id);
CREATE TABLE citizen_keys (citizen text PRIMARY KEY, enc_key text NOT NULL);
