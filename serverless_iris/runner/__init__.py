"""``python runner.py``: runs the notebooks through papermill and archives each run as HTML reports."""
