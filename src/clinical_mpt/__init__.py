"""clinical-mpt: multitask prompt distillation and decomposition for clinical NLP on a frozen causal LM."""

__version__ = "0.1.0"
