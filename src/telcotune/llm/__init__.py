"""LLM backends behind one interface (`LLMClient`), used by data generation and by judges.

`build_client(spec, settings)` gives the client for a spec string (`openai:MODEL[@BASE_URL]`,
`anthropic:MODEL`, `gemini:MODEL`, `local:MODEL_SPEC`, or a registered offline backend such as
the data stage's `template`): cached on disk, retried with backoff, concurrency-bounded.
`complete_json_many` asks for JSON, validates and re-asks.
"""

from .base import ChatRequest, Completion, LLMClient, LLMError, PermanentLLMError, TransientLLMError, Usage
from .client import build_client
from .structured import JsonOutcome, complete_json, complete_json_many

__all__ = [
    "ChatRequest", "Completion", "JsonOutcome", "LLMClient", "LLMError", "PermanentLLMError",
    "TransientLLMError", "Usage", "build_client", "complete_json", "complete_json_many",
]
