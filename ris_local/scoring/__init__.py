"""Evidence about a candidate pair, and the decision that turns it into a score.

The third step. :mod:`~ris_local.scoring.verification` fits a geometric transform to
keypoint matches; :mod:`~ris_local.scoring.thumbnails` correlates small grey
thumbnails; :mod:`~ris_local.scoring.colour` checks that matched shapes have the same
colours.
"""
