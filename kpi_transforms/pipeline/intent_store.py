"""The intent model versions of the warehouse (``marts.intent_model_version``; issue 14): read
the active one (else the model shipped in the package) and store a new one. Used by the fact
build (:mod:`kpi_transforms.pipeline.facts`) and by ``chatkpi intents``
(:mod:`kpi_transforms.pipeline.intents`)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pandas as pd

from kpi_transforms.core.contracts import contract
from kpi_transforms.facts.intent_model import IntentModel, bundled_model, model_from_bytes
from kpi_transforms.warehouse.engine import Warehouse

MODEL_TABLE = "marts.intent_model_version"


# --------------------------------------------------------------------------------------------
# The active model
# --------------------------------------------------------------------------------------------


def active_model_row(warehouse: Warehouse, conn: Any = None) -> dict[str, Any] | None:
    """The active row of ``marts.intent_model_version`` without its bytes, or None."""
    frame = warehouse.read_df(
        "select version, created_at, n_corpus, n_manual, n_review, n_dev, labels_sha256, accuracy, dev_scores"
        " from marts.intent_model_version where is_active order by created_at desc, version limit 1",
        conn=conn,
    )
    return None if frame.empty else frame.iloc[0].to_dict()


def active_intent_model(warehouse: Warehouse, conn: Any = None) -> IntentModel:
    """The model the fact build classifies with: the warehouse's active one, else the bundled one."""
    row = active_model_row(warehouse, conn)
    if row is None:
        return bundled_model()
    blob = warehouse.scalar("select model_base64 from marts.intent_model_version where version = :v", {"v": row["version"]}, conn=conn)
    return model_from_bytes(base64.b64decode(blob))  # cached per bytes: one decode per process and version


def store_model(warehouse: Warehouse, model: IntentModel, counts: dict[str, int], labels_sha256: str) -> str:
    """Store ``model`` as the new active version (the others become inactive); returns its
    version. Storing the same model again re-activates its row."""
    dev = model.meta.get("dev_scores", {})
    row = pd.DataFrame(
        {
            "version": [model.version],
            "created_at": [pd.Timestamp(dt.datetime.now(dt.timezone.utc)).floor("us")],
            "is_active": [True],
            "n_corpus": [int(counts["corpus"])],
            "n_manual": [int(counts["manual"])],
            "n_review": [int(counts["review"])],
            "n_dev": [int(dev.get("n", 0))],
            "labels_sha256": [labels_sha256],
            "accuracy": [float(dev.get("accuracy", 0.0))],
            "dev_scores": [json.dumps({k: dev[k] for k in ("per_class", "confusion") if k in dev}, sort_keys=True)],
            "model_base64": [base64.b64encode(model.to_bytes()).decode("ascii")],
        }
    )
    with warehouse.begin() as conn:
        warehouse.lock(conn, "intent_model")
        warehouse.execute(conn, "delete from marts.intent_model_version where version = :v", {"v": model.version})
        warehouse.execute(conn, "update marts.intent_model_version set is_active = false where is_active")
        warehouse.bulk_insert(conn, MODEL_TABLE, contract(MODEL_TABLE).arrow_table(row))
    return model.version


