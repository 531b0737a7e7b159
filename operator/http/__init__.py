"""The operator's HTTP surface: Flask blueprints, the bare WSGI release route, the request schemas and the OpenAPI document generated from them."""
