CREATE TABLE IF NOT EXISTS versions (
    citizen TEXT NOT NULL, area TEXT NOT NULL, version INTEGER NOT NULL, key_version INTEGER NOT NULL,
    blob TEXT NOT NULL, writer TEXT NOT NULL, written_by TEXT NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (citizen, area, version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS wrapped_keys (
    citizen TEXT NOT NULL, area TEXT NOT NULL, key_version INTEGER NOT NULL, recipient TEXT NOT NULL,
    wrapped TEXT NOT NULL, PRIMARY KEY (citizen, area, key_version, recipient)) WITHOUT ROWID;
