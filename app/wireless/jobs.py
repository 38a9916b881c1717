"""Background jobs of the wireless domain (imports, rescoring, enrichment)."""
