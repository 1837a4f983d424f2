"""Serving published releases to a running app process (no Streamlit).

Between the releases on disk (``sipas_data/release.py``: written, listed, opened) and the
presentation (``ui/``: view state, figures, export) sits what one app process does to answer
every viewer from releases it can trust:

- ``serving.keeper``: :class:`~serving.keeper.ReleaseKeeper` takes a verified private copy of
  each release the first time the process serves it, keeps serving the last good copy when the
  published folder is deleted, truncated or damaged, and takes a new verified copy when a
  release is republished.
- ``serving.reader``: :class:`~serving.reader.SliceReader` holds a release's overall results
  (``breakdown = "all"``, what every rerun reads) in memory, split by year, and answers the
  page's slices exactly as ``Release.read`` would.

What a release offers a viewer (years, units with data, levels, services, indicators: the
``Offer`` a view state is validated against) is presentation and stays in ``ui/``:
``ui/offer.py`` builds it from the release being served, ``ui/state.py`` defines it.

``pages/_common.py`` holds one keeper per process and one reader per release in Streamlit's
resource cache. Nothing here imports Streamlit or ``ui``.
"""
