"""justeval: the JustRL math evaluation protocol as a Snakemake pipeline.

The package holds the logic of every pipeline stage; the Snakemake rules in
``workflow/rules`` are thin calls into ``python -m justeval <stage>``.
"""

__version__ = "0.1.0"
