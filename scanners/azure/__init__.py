"""Azure collectors: Resource Graph (or per-resource ARM) inventory normalised to the shared resource model."""
