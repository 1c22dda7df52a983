"""Registers the chatkpi extension points with Airflow.

Airflow's plugin loader imports every ``.py`` file of the plugins folder under its bare file
name, so the classes live in the ``chatkpi_plugins`` package (ignored by the loader through
``.airflowignore``) and are registered from here under their package path. The scheduler can
only deserialise a DAG whose timetable class is registered under the same import path the DAG
file used (``chatkpi_plugins.timetable.AuditCalendarTimetable``).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from chatkpi_plugins import pool_listener
from chatkpi_plugins.timetable import AuditCalendarTimetable


class ChatKpiPlugin(AirflowPlugin):
    name = "chatkpi"
    timetables = [AuditCalendarTimetable]
    listeners = [pool_listener]  # creates the chatkpi_warehouse pool when a component starts
