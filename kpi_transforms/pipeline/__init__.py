"""The pipeline steps and the only callers of :mod:`kpi_transforms.warehouse`: ingest (load +
facts in one transaction), period KPIs, scorecards and the audit sample, reports. The CLI and
the Airflow tasks call these functions."""
