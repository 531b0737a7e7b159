"""The PostgreSQL backend: the state several replicas share."""
