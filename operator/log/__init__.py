"""The log writer process of a single host (workers send it their appends over a Unix socket) and the operator's own log check."""
