"""What a report shows, gathered once and rendered by the HTML and ``.xlsx`` writers.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd

from kpi_transforms.core.periods import Period
from kpi_transforms.metrics.catalogue import fact_basis
from kpi_transforms.metrics.scorecards import ScorecardResult
from kpi_transforms.present.texts import TEXT

@dataclasses.dataclass
class FactList:
    """The facts one basis (``valid`` / ``counted_1wd`` / ``counted_sla`` / ``case_*`` / ``conv_*`` …)
    of one scope counts: the first rows shown, the total, and the BI query that gives all of them."""

    basis: str
    agent_id: str | None
    channel: str | None
    rows: pd.DataFrame  # pair_id, thread_id, question_at_local, reply_at_local, business_seconds, is_valid, is_counted_1wd, is_counted_24h, customer_key
    total: int
    bi_filter: str
    kind: str = "pair"  # "case" / "quote" / "conversation" / "rating": rows are bi.v_cases / v_quote_responses /
    # v_conversations / v_chat_ratings columns (reports.CASE_COLUMNS / QUOTE_COLUMNS / CONVERSATION_COLUMNS / RATING_COLUMNS)


def fact_anchor(basis: str, agent_id: str | None, channel: str | None) -> str:
    """HTML id of a fact list: ``f-valid``, ``f-counted_1wd-whatsapp``, ``f-valid--rina``."""
    return re.sub(r"[^\w-]", "_", f"f-{basis}" + (f"-{channel}" if channel else "") + (f"--{agent_id}" if agent_id else ""))


# -- data -------------------------------------------------------------------------------------


@dataclasses.dataclass
class ReportData:
    period: Period
    agent_id: str | None
    lang: str
    timezone: str
    durations: pd.DataFrame  # seed-000 table (display strings)
    scorecards: ScorecardResult | None
    frt: pd.DataFrame  # bucket_label, n_pairs, pct_of_pairs
    heatmap: np.ndarray  # 7 x 24 message counts (Monday first)
    trend: pd.DataFrame  # period_label, avg_business_minutes, pct_within_1_working_day, n_valid_pairs
    agents: pd.DataFrame  # agent_id, avg_business_minutes, pct_within_1_working_day, n_queues
    generated_at: pd.Timestamp
    # issue 17 drill-down (filled by pipeline.reports.add_drill_down; None = not gathered)
    sla_open: pd.DataFrame | None = None  # queues open past their deadline at generated_at
    slowest: pd.DataFrame | None = None  # the period's slowest valid answers
    transcripts: dict | None = None  # thread_id -> Transcript (bi.v_transcript rows)
    frt_channel: pd.DataFrame | None = None  # channel, n_pairs, avg/median business minutes, % ≤ 1 working day
    aht: pd.DataFrame | None = None  # stored aht* KPI rows, when such a KPI exists
    complaints: pd.DataFrame | None = None  # category, n_cases, n_previous, change
    csat: pd.DataFrame | None = None  # stored csat_rate_<category> rows: category, value, basis_count, note
    csat_query: str | None = None  # the bi.v_kpi query giving the same rows
    fact_lists: dict | None = None  # anchor -> FactList: the pairs a reply-pair KPI figure counts

    def fact_href(self, code: str, agent_id: str | None) -> str | None:
        """``#anchor`` of the list of facts behind KPI ``code`` of ``agent_id`` (None = team), if gathered."""
        basis = fact_basis(code)
        if basis is None or not self.fact_lists:
            return None
        anchor = fact_anchor(basis[0], agent_id or self.agent_id, basis[1])
        return "#" + anchor if anchor in self.fact_lists else None

    @property
    def scope(self) -> str:
        t = TEXT[self.lang]
        return t["agent"].format(agent=self.agent_id) if self.agent_id else t["team"]
