"""What the verifier did to a set of verdicts: one count of each outcome, shared by the
model_grade audit and the aggregate metrics."""

from __future__ import annotations

import pandas as pd


def verifier_counts(verdicts: pd.DataFrame) -> dict[str, int]:
    """Samples sent to the verifier, its verdicts by letter, and what changed."""
    sent = verdicts["sent_to_verifier"]
    verdict = verdicts["verifier_verdict"]
    rule = verdicts["rule_correct"]
    return {
        "rule_accepted": int(rule.sum()),
        "sent_to_verifier": int(sent.sum()),
        "verifier_correct": int((verdict == "A").sum()),
        "verifier_incorrect": int((verdict == "B").sum()),
        "verifier_invalid": int((verdict == "C").sum()),
        "verifier_unparsed": int((verdict == "unparsed").sum()),
        "recovered": int((verdicts["correct"] & ~rule).sum()),
        "rule_accepted_verifier_disagreed": int((sent & rule & (verdict != "A")).sum()),
    }
