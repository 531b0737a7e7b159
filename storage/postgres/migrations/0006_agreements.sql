-- Versioned data agreements (ledger/agreement.py): each service's published versions, and
-- the version a consent request names.
CREATE TABLE agreements (
    service_id text NOT NULL, version integer NOT NULL, document text NOT NULL, published_at double precision NOT NULL,
    PRIMARY KEY (service_id, version)
);
CREATE TABLE request_agreements (request_id text PRIMARY KEY, version integer NOT NULL);
