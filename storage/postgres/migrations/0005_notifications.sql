-- Notifications to services (storage/outbox.py): where each service takes them, the durable
-- outbox (one row per ending log entry, keyed by its log index) and the notifier's cursors.
CREATE TABLE service_endpoints (service_id text PRIMARY KEY, notify_url text NOT NULL);
CREATE TABLE notifications (
    id bigint PRIMARY KEY, service_id text NOT NULL, citizen text NOT NULL, url text NOT NULL, body text NOT NULL,
    attempts integer NOT NULL, next_at double precision NOT NULL, delivered_at double precision, last_error text
);
CREATE INDEX notifications_due ON notifications (delivered_at, next_at);
CREATE TABLE notifier_state (name text PRIMARY KEY, value text NOT NULL);
