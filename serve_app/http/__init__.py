"""HTTP: middleware, error mapping and routers (one file per API prefix)."""
