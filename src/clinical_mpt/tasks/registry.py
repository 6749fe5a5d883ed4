"""The task-type registry: name -> TaskType. A new task type is one file plus one line here.

Everything else that depends on the set of task types reads this dict when it runs: the canonical
validation (`clinical_mpt.data.canonical`), the server's input checks (`clinical_mpt.serve.inputs`),
the web console's input forms (GET /v1/tasks), the synthetic suite and `clinical-mpt score`.
"""

from __future__ import annotations

from clinical_mpt.errors import ConfigError
from clinical_mpt.tasks.base import TaskType
from clinical_mpt.tasks.mcqa import MCQA
from clinical_mpt.tasks.ner import NER
from clinical_mpt.tasks.nli import NLI
from clinical_mpt.tasks.qa import QA
from clinical_mpt.tasks.relation import RE
from clinical_mpt.tasks.summarization import SUMMARIZATION

TASK_TYPES: dict[str, TaskType] = {t.name: t for t in (NER, RE, QA, MCQA, NLI, SUMMARIZATION)}


def get_task_type(name: str) -> TaskType:
    """The registered TaskType called `name`; ConfigError listing the known types otherwise."""
    try:
        return TASK_TYPES[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown task type {name!r}; known types: {', '.join(TASK_TYPES)}") from None
