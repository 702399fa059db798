"""Connectors: the sources that bring a household's data into the box.

A connector is a module with a :class:`~selfdata.connectors.sdk.Manifest` and an async
``sync(ctx)``. Built-in ones live here, one module or package per source; third-party
ones are found through the ``selfdata.connectors`` entry-point group, the same way.
Read docs/connectors.md to write one.
"""
