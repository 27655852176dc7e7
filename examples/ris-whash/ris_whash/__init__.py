"""ris-whash: an example third-party feature engine for ris's ``local`` backend."""
