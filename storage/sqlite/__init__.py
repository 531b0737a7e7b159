"""The SQLite backend: files in a data directory, for one host."""
