"""mkdocs hooks: pages generated from the code at build time (filled in below)."""
