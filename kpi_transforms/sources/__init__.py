"""Input files in, raw messages and row-table frames out (no warehouse access).

One module (or folder) per source kind, one result type and one registry
(:mod:`kpi_transforms.sources.registry`) that the pipeline calls for every file. Imports only
:mod:`kpi_transforms.core`."""
