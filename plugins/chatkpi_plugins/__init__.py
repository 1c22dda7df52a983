"""Airflow glue for chatkpi: the audit-calendar timetable, failure callbacks, run-time helpers
for the DAG tasks, and a runner that drives the DAGs with ``dag.test()`` (tests, demo).

Nothing here holds business logic: that lives in ``kpi_transforms``. The package sits in the
Airflow plugins folder, which Airflow puts on ``sys.path``; the plugin registration itself is
``plugins/chatkpi_plugin.py`` (this folder is listed in ``plugins/.airflowignore`` so Airflow's
plugin loader does not import these modules a second time under top-level names).
"""
