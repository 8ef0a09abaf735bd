"""Probes (/healthz, /readyz), the OpenAPI document and Swagger UI."""
