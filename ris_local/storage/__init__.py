"""Where images, feature blobs and saved indexes live: the SQLite store.

:mod:`~ris_local.storage.store` holds the tables (contexts, image bytes, feature blobs,
tags); :mod:`~ris_local.storage.index_store` saves a context's in-memory index as a
few large BLOBs so reopening is fast.
"""
