"""The synthetic world: XDM profiles and events, and the oracle behind them.

The generator's public face: :mod:`ml.synthetic.generator` runs it,
:mod:`ml.synthetic.world` holds its facts and parameters,
:mod:`ml.synthetic.simulation` its draws, :mod:`ml.synthetic.events` the XDM
event layout, and :mod:`ml.synthetic.xdm` the vectorised XDM building blocks.
"""

from ml.synthetic.defaults import generator_params
from ml.synthetic.generator import generate, generate_chunk, observe
from ml.synthetic.world import (
    CONVERSION_EVENT_TYPE,
    CONVERSION_PAGE,
    GENERATOR_VERSION,
    MS_PER_DAY,
    Behaviour,
    EventType,
    GeneratorParams,
    SyntheticChunk,
    WindowState,
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
