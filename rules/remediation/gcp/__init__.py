"""GCP remediations: Cloud Storage JSON API and Compute API writes."""
