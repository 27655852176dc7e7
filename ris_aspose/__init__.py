"""ris_aspose: the backend on Aspose.Imaging Cloud's imageSearch API. Select it as ``aspose``."""
