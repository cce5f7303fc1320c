"""Report rendering (HTML, notebooks) over result objects computed in curator/."""
