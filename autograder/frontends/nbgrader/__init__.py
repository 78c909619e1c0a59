"""The nbgrader front end: the hidden cells' one call (``check``), the preprocessors of
``nbgrader_config.py`` (``plugin``), the confined kernel (``kernel``), the instructor's
data set linked into every autograded folder (``data``) and ``autograder
nbgrader-autograde`` (``parallel``)."""
