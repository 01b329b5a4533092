"""Output formats of the read side, beside the domain like ``models.sql``: they may import their libraries.

- ``evaluation_workbook``: the yearly evaluation as an Excel workbook (openpyxl), for the CLI and the API.
"""
