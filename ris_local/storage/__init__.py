"""Where images, feature blobs and saved indexes live: the SQLite store (or PostgreSQL).

:mod:`~ris_local.storage.store` holds the tables (contexts, image bytes, feature blobs,
tags); :mod:`~ris_local.storage.index_store` saves a context's in-memory index as a
few large BLOBs so reopening is fast; :mod:`~ris_local.storage.postgres_store` reads
those back from a PostgreSQL database, where the same tables live behind a
``postgresql://`` URL (:mod:`ris_core.postgres`).
"""
