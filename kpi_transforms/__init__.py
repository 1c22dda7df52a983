"""chatkpi: customer-chat logs and sales reports in, reply-pair facts and KPI scorecards out.

This package is the product library. It never imports Airflow; DAGs in ``dags/`` and glue in
``plugins/`` call the functions defined here, and so does the ``chatkpi`` command line.
"""

__version__ = "0.1.0"
