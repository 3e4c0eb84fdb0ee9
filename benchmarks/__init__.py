"""Results measured on GPUs, shipped with the package as ``rnnviz.results`` (JSON files)."""
