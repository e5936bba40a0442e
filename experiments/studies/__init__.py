"""The stylized-fact studies, one module each (``outcome-gym study NAME``; docs/experiments.md).

This folder is a package so that every study is imported by one stable name, ``studies.<name>``
(its parent, ``experiments/``, goes on ``sys.path``), in the main process and in spawn workers
alike. Study modules may import each other as ``studies.<other>``.
"""
