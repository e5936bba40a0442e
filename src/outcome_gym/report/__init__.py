"""Reports: matplotlib figures, markdown and a self-contained HTML page."""
