"""What comes from outside: benchmark files in their layouts and models (hub
downloads, local folders, manifests)."""
