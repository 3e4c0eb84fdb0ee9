"""Small helpers the course notebooks share: sizes by device, what can be timed here, and the
GPU results shipped with the package, shown beside what this machine measures."""
