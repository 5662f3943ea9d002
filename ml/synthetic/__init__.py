"""The synthetic world: XDM profiles and events, and the oracle behind them.

The generator's public face; its internals live in :mod:`ml.synthetic.generator`
and the vectorised XDM building blocks in :mod:`ml.synthetic.xdm`.
"""

from ml.synthetic.defaults import generator_params
from ml.synthetic.generator import (
    CONVERSION_EVENT_TYPE,
    CONVERSION_PAGE,
    GENERATOR_VERSION,
    MS_PER_DAY,
    Behaviour,
    EventType,
    GeneratorParams,
    SyntheticChunk,
    WindowState,
    generate,
    generate_chunk,
    observe,
    read_event_catalogue,
)

__all__ = [
    "CONVERSION_EVENT_TYPE",
    "CONVERSION_PAGE",
    "GENERATOR_VERSION",
    "MS_PER_DAY",
    "Behaviour",
    "EventType",
    "GeneratorParams",
    "SyntheticChunk",
    "WindowState",
    "generate",
    "generate_chunk",
    "generator_params",
    "observe",
    "read_event_catalogue",
]
