"""The ``selfdata`` command line: click commands over a daemon or an offline backend."""
