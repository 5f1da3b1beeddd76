"""Readers of the raw generations other harnesses release, each into one uniform table.

One module per format (``lighteval``, ``skythought``, ``nemo_skills``, ``lm_eval``,
``opencompass``, ``verl``, ``matharena``, ``justrl``, ``qwen``, ``generic``); what they
share (the :class:`~justeval.sources.released.common.Released` result, JSON streaming, the
one-line errors) is in ``common``; the registry, :func:`detect` and :func:`read_released`
are in ``registry``. The readers know nothing of the pipeline's benchmarks: which benchmark
problem a file's problem is, is :mod:`justeval.analysis.problem_matching`'s question.
"""
