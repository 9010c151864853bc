"""Ray Serve deployments: one per file, plain classes; ``serve_app.app.build_app`` binds them."""
