"""Data shipped with the package (a small public-domain text)."""
