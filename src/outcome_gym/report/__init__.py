"""Reports: one kit for every report outcome-gym writes, and the comparison and sweep reports.

The kit:

* :mod:`.tables`: markdown tables (with their escaping); :func:`.render.markdown_page` turns a
  report's markdown into its HTML page (markdown-it-py);
* :mod:`.style`: the palette, the CSS and the frame of a self-contained HTML page;
* :mod:`.figures`: :func:`~.figures.pyplot` (Agg selected right before drawing, never at import),
  and :func:`~.figures.save_png`;
* :func:`outcome_gym._io.atomic_write` and :func:`outcome_gym._io.atomic_dir`: every report file and
  folder is written atomically.

The reports: :mod:`.render` (``outcome-gym compare``; its figures are in :mod:`.figures`) and
:mod:`.sweep` (``outcome-gym report``). Studies' reports, ``results/README.md`` and the check's
summary use the kit's tables. Importing this package imports neither matplotlib nor any report.
"""
