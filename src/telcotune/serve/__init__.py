"""Deployment: a terminal chat, an OpenAI-compatible HTTP server with a web chat page, and
export of a merged model. Modules import torch/transformers lazily where they can; import the
submodules (`serve.app`, `serve.engine`, ...) for the full API.

    target = study_target(Path("runs/demo"), ["best-judge"])   # or adapter_target(dir, spec)
    engine = ChatEngine.load(target, ServeLimits(concurrency=2))
    run_chat(ChatSession(engine, target.default))              # terminal chat
    run_server(create_app(engine, api_key=None))               # HTTP on 127.0.0.1:8000
    export_merged(spec, adapter_dir, Path("merged"), "bf16")   # standalone model folder
"""

from .choice import BEST_JUDGE, BEST_LOSS, RunChoice, choose_run
from .limits import ServeLimits
from .target import ServeTarget, adapter_target, study_target

__all__ = ["BEST_JUDGE", "BEST_LOSS", "RunChoice", "ServeLimits", "ServeTarget", "adapter_target",
           "choose_run", "study_target"]
