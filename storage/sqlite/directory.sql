-- Tables keyed by an id are WITHOUT ROWID: one B-tree per table, no second index of the key.
CREATE TABLE IF NOT EXISTS services (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL, callback_url TEXT NOT NULL,
    sign_key TEXT NOT NULL, enc_key TEXT NOT NULL, registered_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS consent_requests (
    id TEXT PRIMARY KEY, service_id TEXT NOT NULL REFERENCES services(id), citizen TEXT NOT NULL,
    purposes TEXT NOT NULL, permissions TEXT NOT NULL, duration_days INTEGER NOT NULL,
    notice_url TEXT NOT NULL, notice_sha256 TEXT NOT NULL, status TEXT NOT NULL,
    created_at REAL NOT NULL, decided_at REAL, consent_id TEXT, receipt TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS requests_by_citizen ON consent_requests(citizen, status);
CREATE TABLE IF NOT EXISTS consents (
    consent_id TEXT PRIMARY KEY, service_id TEXT NOT NULL, citizen TEXT NOT NULL,
    permissions TEXT NOT NULL, expires_at INTEGER NOT NULL, request_id TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS consents_by_holder ON consents(citizen, service_id);
CREATE TABLE IF NOT EXISTS citizen_keys (citizen TEXT PRIMARY KEY, enc_key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS service_endpoints (service_id TEXT PRIMARY KEY, notify_url TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY, service_id TEXT NOT NULL, citizen TEXT NOT NULL, url TEXT NOT NULL, body TEXT NOT NULL,
    attempts INTEGER NOT NULL, next_at REAL NOT NULL, delivered_at REAL, last_error TEXT);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications(delivered_at, next_at);
CREATE TABLE IF NOT EXISTS notifier_state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS agreements (
    service_id TEXT NOT NULL, version INTEGER NOT NULL, document TEXT NOT NULL, published_at REAL NOT NULL,
    PRIMARY KEY (service_id, version));
CREATE TABLE IF NOT EXISTS request_agreements (request_id TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS narrowed_purposes (consent_id TEXT PRIMARY KEY, purposes TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS consent_endings (consent_id TEXT PRIMARY KEY, ended_at REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS endings_by_time ON consent_endings(ended_at);
-- (WITHOUT ROWID holds while rows stay well under 1 KB: bigger ones spill into overflow pages)
CREATE TABLE IF NOT EXISTS archived_consents (consent_id TEXT PRIMARY KEY, citizen TEXT NOT NULL, document TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS archived_by_citizen ON archived_consents(citizen);
