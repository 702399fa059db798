"""Page handlers: one module per area of the web UI (routes are in selfdata.api.routes)."""
