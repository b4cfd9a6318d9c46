"""The two-stage TRL recipe, the LawBench-compatible evaluator and ``lawset certify``."""
