"""Synthetic XDM profiles and experience events, with the truth behind them.

The generator follows the reference workflow's event taxonomy
(``seeds/xdm_event_types.csv``): base exposures (ad impressions, emails sent,
page views) and the responses that depend on them, propensity shifts (email
clicks, offer interactions and purchases raise it, dismissals lower it),
fatigue that makes over-exposed, unresponsive profiles churn, and the
conversion, a ``web.formFilledOut`` on the ``subscriptionForm`` page.

Time is cut into windows of ``horizon_days`` that end at ``as_of`` (the same
cutoffs the feature models use), plus one window past ``as_of``. At the start
of each window the conversion probability of every profile is fixed from its
state (the **oracle**), and the conversion, if any, happens at a uniformly
random moment of the window, tied to no other event, so nothing in the events
gives the label away. Responses during the window move the propensity of the
next one. Everything is drawn with numpy over whole chunks of profiles; a
chunk is the unit of memory and of loading.

The world's facts are in :mod:`ml.synthetic.world`, the draws in
:mod:`ml.synthetic.simulation`, the XDM event records in
:mod:`ml.synthetic.events`; this module is the way in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

from ml.synthetic.simulation import ChunkSimulation
from ml.synthetic.world import (
    Behaviour,
    GeneratorParams,
    SyntheticChunk,
    WindowState,
)


def generate_chunk(
    params: GeneratorParams, index: int, behaviour: Behaviour | None = None
) -> SyntheticChunk:
    """Generate one chunk of profiles with their events and truth.

    Args:
        params: Dataset parameters.
        index: Chunk number in ``range(params.n_chunks)``.
        behaviour: Rates and effects; the defaults when None.

    Returns:
        The chunk's profiles, events and truth as Arrow tables.
    """
    if not 0 <= index < params.n_chunks:
        raise ValueError(f"chunk {index} outside 0..{params.n_chunks - 1}")
    return ChunkSimulation(params, behaviour or Behaviour(), index).run()


def observe(
    params: GeneratorParams,
    on_window: Callable[[int, WindowState], None],
    behaviour: Behaviour | None = None,
) -> None:
    """Simulate the dataset and show each chunk's state at every window start.

    Args:
        params: Dataset parameters (the same draws as :func:`generate`).
        on_window: Called with the chunk number and the state, window by window.
        behaviour: Rates and effects; the defaults when None.
    """
    for index in range(params.n_chunks):
        ChunkSimulation(params, behaviour or Behaviour(), index).run(
            functools.partial(on_window, index)
        )


def generate(
    params: GeneratorParams, behaviour: Behaviour | None = None
) -> Iterator[SyntheticChunk]:
    """Generate the whole dataset chunk by chunk (memory stays one chunk)."""
    for index in range(params.n_chunks):
        yield generate_chunk(params, index, behaviour)
