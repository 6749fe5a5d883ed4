"""Clinical task types as text-to-text for a causal LM: input/target formats, robust parsers of
generations, and the metrics (see docs/tasks.md).

    from clinical_mpt.tasks import TASK_TYPES, get_task_type, score_predictions
    tt = get_task_type("ner")
    prompt = tt.format_input(ex, None)            # ends with "\\nAnswer:"
    pred = tt.parse(generated_text, ex)           # {"id": ..., "entities": [...]}, never raises
    metrics = score_predictions("ner", gold_rows, pred_rows)   # aligned by id
"""

from clinical_mpt.tasks.base import InputField, TaskType
from clinical_mpt.tasks.registry import TASK_TYPES, get_task_type
from clinical_mpt.tasks.scoring import align_predictions, empty_prediction, score_predictions, validate_prediction

__all__ = ["InputField", "TaskType", "TASK_TYPES", "get_task_type", "score_predictions", "align_predictions",
           "empty_prediction", "validate_prediction"]
