"""Rule graders: extract the final answer of a response and compare it with the gold.

Everything that decides a rule verdict lives in this folder; its source hash is
part of rule_grade's params, so editing a grader regrades (and never
regenerates).
"""

from .extract import last_boxed
from .runner import GRADERS, GradeResult, grade_responses

__all__ = ["GRADERS", "GradeResult", "grade_responses", "last_boxed"]
