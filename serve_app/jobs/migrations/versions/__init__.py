"""One file per revision, ``NNNN_<what>.py``, chained by ``down_revision``. A revision that
has shipped is never edited: a change is one more file."""
