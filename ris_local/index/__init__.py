"""In-memory indexes: where the candidates for a query come from.

The second step. :mod:`~ris_local.index.multiindex` (with
:mod:`~ris_local.index.hamming_join`) finds hash codes within a Hamming radius;
:mod:`~ris_local.index.invertedfile` votes for rows by shared visual words;
:mod:`~ris_local.index.centres` finds rows whose centre looks like a crop;
:mod:`~ris_local.index.cascade` holds all of them per row and runs the three looks
(hash, keypoints, thumbnails) in turn; :mod:`~ris_local.index.blocks` saves it as
byte blocks. :mod:`~ris_local.index.scored` is the index the backend holds: the cascade's
candidates, each scored by the one decision; :mod:`~ris_local.index.self_join` finds
``find_duplicates``' pairs in one join.
"""
