"""ris_local: the offline backend, perceptual hashes in a SQLite file. Select it as ``local``."""
