"""One score per pair: the evidence about a candidate, and the decision that turns it into a score.

The third step, and the only place a score is made (the model is in ``docs/scoring.md``).
:func:`~ris_local.scoring.gather.gather` collects a pair's
:class:`~ris_local.scoring.evidence.Evidence` from the two pictures' features alone:
the hash distance, the keypoint verification (:mod:`~ris_local.scoring.verification`)
and its colour check (:mod:`~ris_local.scoring.colour`), the thumbnail correlations
(:mod:`~ris_local.scoring.thumbnails`). :func:`~ris_local.scoring.decision.decide` turns
it into a similarity, a :class:`~ris_local.scoring.decision.Stage` and an explanation,
by the numbers of one :class:`~ris_local.scoring.policy.ScoringPolicy`. Search,
``find_duplicates`` and ``compare`` all call both, so a pair has one score whoever asks
and whatever else is stored.
"""
