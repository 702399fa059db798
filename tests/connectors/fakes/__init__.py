"""Local fake servers speaking the sources' documented protocols, and a test Context."""
