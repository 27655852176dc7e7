"""What is extracted from a picture: decoding, hash codes, keypoints, visual words, the blob.

The first step of the pipeline. :mod:`~ris_local.features.decoding` turns bytes into
grey pixels at reduced scale and finds borders; :mod:`~ris_local.features.hashcodes`
makes the four 64-bit hash codes; :mod:`~ris_local.features.keypoints` finds ORB
keypoints, which :mod:`~ris_local.features.vocabulary` quantises to visual words;
:mod:`~ris_local.features.layout` assembles all of it (with a thumbnail, centre codes
and a chroma map) into one :class:`~ris_local.features.layout.Features` and its blob.
"""
