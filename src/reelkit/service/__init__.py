"""The member-facing service: store, model versions, HTTP API and web pages (needs the service extra)."""
