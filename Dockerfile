# chatkpi on Airflow 3: the official image plus the chatkpi library (installed from the pinned
# requirements.lock), its SQL migrations and expectation suites, the DAGs and the plugins.
#   docker build -t chatkpi-airflow:3.3.2 .      (docker compose build does the same)
FROM apache/airflow:3.3.2-python3.11

ENV CHATKPI_SQL_DIR=/opt/chatkpi/sql \
    CHATKPI_EXPECTATIONS_DIR=/opt/chatkpi/expectations \
    GX_ANALYTICS_ENABLED=False

# The folders the compose volumes mount (lake with its stage folders, reports): a new named
# volume takes the image's folder with its owner and mode, so tasks running as any
# ${AIRFLOW_UID} with group 0 can write to it on the first run.
USER root
RUN mkdir -p /opt/chatkpi /opt/airflow/lake/_stage /opt/airflow/reports \
 && chown airflow:0 /opt/chatkpi \
 && chown -R airflow:0 /opt/airflow/lake /opt/airflow/reports \
 && chmod -R g+rwX,g+s /opt/airflow/lake /opt/airflow/reports
USER airflow

# Dependencies first, cached until the lock changes. The lock pins apache-airflow==3.3.2 (the
# image's own version), so pip keeps Airflow and aligns everything else to the tested set.
COPY --chown=airflow:0 requirements.lock /opt/chatkpi/requirements.lock
RUN pip install --no-cache-dir -r /opt/chatkpi/requirements.lock

# The library itself (no dependency resolution: the lock installed them all).
COPY --chown=airflow:0 pyproject.toml README.md /opt/chatkpi/
COPY --chown=airflow:0 kpi_transforms /opt/chatkpi/kpi_transforms
RUN pip install --no-cache-dir --no-deps /opt/chatkpi

COPY --chown=airflow:0 sql /opt/chatkpi/sql
COPY --chown=airflow:0 expectations /opt/chatkpi/expectations
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins
