"""Google Cloud scanning through the Cloud Asset API: one ListAssets listing per (project, asset-type group)."""
