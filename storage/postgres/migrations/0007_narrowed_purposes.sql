-- The purposes of a consent whose citizen approved fewer than the request asked for; every
-- other consent's purposes are its request's (storage/directory.py).
CREATE TABLE narrowed_purposes (consent_id text PRIMARY KEY, purposes text NOT NULL);
