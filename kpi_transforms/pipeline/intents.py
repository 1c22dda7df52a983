"""The intent model in the warehouse (issue 14; docs/DECISIONS.md, "Issue 14").

``marts.intent_model_version`` keeps every model ``chatkpi intents train`` (or the daily DAG)
trained, with its training-set counts, dev scores and bytes; the fact build classifies with
the active row's model, else with the model shipped in the package
(:func:`kpi_transforms.facts.intent_model.bundled_model`), so an ingest never trains.

The installation's own labels, trained on next to the shipped corpus: the queues whose stored
intent came from a manual intent-label file (``fct_reply_pair.intent_source = 'manual'``) and
the intents a reviewer confirmed or corrected in the audit review sheet
(``audit.intent_review``; a manual label of the same queue wins). Their hash, together with
the shipped corpus's and the feature code's versions, is ``labels_sha256``: the daily retrain
is skipped when it equals the active model's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.core.errors import ChatKpiError
from kpi_transforms.facts import intent_corpus
from kpi_transforms.facts.intent_model import CLASSES, FEATURES_VERSION, RULES_VERSION, evaluate, format_report, train
from kpi_transforms.facts.intent_text import NORMALISER_VERSION
from kpi_transforms.facts.thread_view import queue_text_array, thread_view
from kpi_transforms.pipeline.facts import load_thread_messages, rebuild_facts
from kpi_transforms.pipeline.intent_store import active_intent_model, active_model_row, store_model
from kpi_transforms.warehouse.engine import Warehouse

log = logging.getLogger(__name__)



# --------------------------------------------------------------------------------------------
# The installation's labels
# --------------------------------------------------------------------------------------------


def queue_texts_of(warehouse: Warehouse, conn: Any, pairs: pd.DataFrame) -> pd.Series:
    """The queue text (all customer messages, one a line) of stored pairs (``pair_id, thread_id,
    question_message_id, reply_message_id``), aligned with ``pairs``."""
    if pairs.empty:
        return pd.Series([], dtype=object, index=pairs.index)
    pairs = pairs.reset_index(drop=True)
    messages = load_thread_messages(warehouse, conn, sorted(pairs["thread_id"].unique().tolist()))
    view = thread_view(messages, pairs)
    return pd.Series(queue_text_array(view, len(pairs)).to_numpy(zero_copy_only=False), dtype=object).str.rstrip("\n")


def installation_labels(warehouse: Warehouse, conn: Any = None) -> pd.DataFrame:
    """The installation's own labelled queues: ``pair_id, text, intent, origin`` (origin
    ``manual`` | ``review``), one row per queue, sorted by pair_id (a manual label wins)."""
    if conn is None:
        with warehouse.begin() as own:
            return installation_labels(warehouse, own)
    manual = warehouse.read_df(
        "select pair_id, thread_id, question_message_id, reply_message_id, intent from marts.fct_reply_pair"
        " where intent_source = 'manual'", conn=conn)
    manual["origin"] = "manual"
    review = warehouse.read_df(
        "select p.pair_id, p.thread_id, p.question_message_id, p.reply_message_id, r.intent"
        " from audit.intent_review r join marts.fct_reply_pair p on p.pair_id = r.pair_id", conn=conn)
    review = review[~review["pair_id"].isin(set(manual["pair_id"]))]
    review["origin"] = "review"
    labelled = pd.concat([manual, review], ignore_index=True).sort_values("pair_id", kind="stable").reset_index(drop=True)
    labelled["text"] = queue_texts_of(warehouse, conn, labelled).to_numpy(dtype=object) if len(labelled) else []
    labelled = labelled[labelled["text"].astype(str).str.strip() != ""]
    return labelled[["pair_id", "text", "intent", "origin"]].reset_index(drop=True)


def labels_sha256(labels: pd.DataFrame) -> str:
    """Hash of what a training run learns from: the shipped corpus, the feature code's versions
    and the installation's (text, intent) rows."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"corpus": intent_corpus.corpus_sha256(), "normaliser": NORMALISER_VERSION,
                              "features": FEATURES_VERSION, "rules": RULES_VERSION}, sort_keys=True).encode("utf-8"))
    for text, intent in sorted(zip(labels["text"].astype(str), labels["intent"].astype(str))):
        digest.update(f"\x1e{intent}\x1f{text}".encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Train, evaluate, review
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TrainResult:
    version: str | None  # None: skipped
    counts: dict[str, int]
    labels_sha256: str
    report: str
    rebuilt_threads: int = 0
    skipped_reason: str | None = None

    def summary(self) -> str:
        trained = (f"{self.counts['corpus']} corpus queues, {self.counts['manual']} manual labels, "
                   f"{self.counts['review']} review-sheet labels")
        if self.version is None:
            return f"intent model: not retrained ({self.skipped_reason}); labels {trained}"
        return (f"intent model {self.version} stored and active: trained on {trained}; "
                f"facts of {self.rebuilt_threads} thread(s) reclassified\n{self.report}")


def train_intent_model(warehouse: Warehouse, config: Config, *, only_if_changed: bool = False,
                       rebuild: bool = True) -> TrainResult:
    """Train on the shipped corpus plus the installation's labels, store the result as the
    active version and (``rebuild``) rebuild the facts of every thread with it.
    ``only_if_changed``: skip when the label set's hash equals the active model's (or, with no
    active model, when there are no installation labels: the bundled model is that model)."""
    labels = installation_labels(warehouse)
    sha = labels_sha256(labels)
    counts = {"corpus": int(len(intent_corpus.load_corpus("train"))),
              "manual": int((labels["origin"] == "manual").sum()), "review": int((labels["origin"] == "review").sum())}
    if only_if_changed:
        active = active_model_row(warehouse)
        if active is not None and active["labels_sha256"] == sha:
            return TrainResult(None, counts, sha, "", skipped_reason=f"labels unchanged since model {active['version']}")
        if active is None and labels.empty:
            return TrainResult(None, counts, sha, "", skipped_reason="no installation labels: the bundled model is current")
    model = train(labels[["text", "intent"]] if len(labels) else None)
    version = store_model(warehouse, model, counts, sha)
    rebuilt = rebuild_all_facts(warehouse, config) if rebuild else 0
    return TrainResult(version, counts, sha, format_report(model.meta["dev_scores"]), rebuilt_threads=rebuilt)


def rebuild_all_facts(warehouse: Warehouse, config: Config) -> int:
    """Rebuild the facts of every thread (one transaction), so every pair gets the active
    model's intent."""
    with warehouse.begin() as conn:
        warehouse.lock(conn)
        threads = warehouse.read_df("select distinct thread_id from marts.fct_message", conn=conn)["thread_id"].tolist()
        return rebuild_facts(warehouse, conn, sorted(threads), config) if threads else 0


def evaluate_intent_model(warehouse: Warehouse, labelled: pd.DataFrame | None = None) -> str:
    """Per-class precision / recall of the active model (else the bundled one) on the dev
    split, and on ``labelled`` (``text, intent``) when given."""
    model = active_intent_model(warehouse)
    row = active_model_row(warehouse)
    where = f"warehouse model {model.version}" if row is not None else f"bundled model {model.version}"
    parts = [where, format_report(evaluate(model, intent_corpus.load_corpus("dev")), "dev split")]
    if labelled is not None:
        parts.append(format_report(evaluate(model, labelled), f"labelled file ({len(labelled)} rows)"))
    return "\n".join(parts)


def review_queue(warehouse: Warehouse, below: float = 0.6, limit: int | None = None, excerpt: int = 80) -> pd.DataFrame:
    """The stored queues whose intent the model is unsure of (``intent_confidence < below``;
    manual labels never): ``pair_id, thread_id, intent, intent_source, intent_confidence,
    text`` (an excerpt), least confident first."""
    with warehouse.begin() as conn:
        pairs = warehouse.read_df(
            "select pair_id, thread_id, question_message_id, reply_message_id, intent, intent_source, intent_confidence"
            " from marts.fct_reply_pair"
            " where intent_confidence < :below and intent_source <> 'manual'"
            " order by intent_confidence, pair_id",
            {"below": float(below)}, conn=conn)
        if limit is not None:
            pairs = pairs.head(limit)
        text = queue_texts_of(warehouse, conn, pairs)
    flat = text.astype(str).str.replace(r"\s+", " ", regex=True).str.strip()
    pairs["text"] = np.where(flat.str.len() > excerpt, flat.str.slice(0, excerpt - 1) + "…", flat) if len(pairs) else []
    return pairs[["pair_id", "thread_id", "intent", "intent_source", "intent_confidence", "text"]]


def render_review(frame: pd.DataFrame, below: float) -> str:
    if frame.empty:
        return f"no queue below confidence {below}"
    width = max(4, int(frame["pair_id"].str.len().max()))
    lines = [f"{len(frame)} queue(s) below confidence {below}:", f"{'pair':<{width}}  {'intent':<14}{'conf':>5}  text"]
    for row in frame.itertuples(index=False):
        lines.append(f"{row.pair_id:<{width}}  {row.intent:<14}{row.intent_confidence:>5.2f}  {row.text}")
    return "\n".join(lines)


def read_labelled_file(path: str) -> pd.DataFrame:
    """A labelled CSV (columns ``text, intent``) for ``chatkpi intents evaluate --labels``."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise ChatKpiError(f"{path}: cannot read the labelled file ({str(exc).splitlines()[0]})") from exc
    missing = {"text", "intent"} - set(frame.columns)
    if missing:
        raise ChatKpiError(f"{path}: missing column(s) {', '.join(sorted(missing))} (need text, intent)")
    bad = sorted(set(frame["intent"].str.strip().str.lower()) - set(CLASSES))
    if bad:
        raise ChatKpiError(f"{path}: unknown intent(s) {', '.join(map(repr, bad[:5]))} (allowed: {', '.join(CLASSES)})")
    return frame


__all__: Sequence[str] = (
    "active_intent_model", "active_model_row", "evaluate_intent_model", "installation_labels", "labels_sha256",
    "read_labelled_file", "render_review", "review_queue", "store_model", "train_intent_model",
)
