"""ris-memory: an example third-party backend for ris, kept in memory. Select it as ``memory``."""
