"""Stage 7: the audience rule language, audiences, and deliveries.

``rules`` (the rule language, compiled to safe SQL), ``definitions``
(``audiences.yml`` validated), ``sizing`` (the propensity-reach analysis),
``builds`` (members, holdouts and deltas per build), ``ledger`` (delivery
keys, frozen activatable sets, the suppression list), ``files`` and ``http``
(the destinations), ``activate`` (one run of deliveries) and ``errors``.
"""
