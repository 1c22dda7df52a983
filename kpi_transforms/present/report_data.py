"""What a report shows, gathered once and rendered by the HTML and ``.xlsx`` writers.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from kpi_transforms.core.periods import Period
from kpi_transforms.metrics.scorecards import ScorecardResult
from kpi_transforms.present.texts import TEXT

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

    @property
    def scope(self) -> str:
        t = TEXT[self.lang]
        return t["agent"].format(agent=self.agent_id) if self.agent_id else t["team"]
