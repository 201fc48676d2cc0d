"""Products as a spreadsheet and back: export the catalog as CSV or XLSX, and import an
edited copy through a preview that staff confirm.

- :mod:`.columns`  the sheet's columns and how values look in it (prices in human units).
- :mod:`.export`   streamed CSV rows and a write-only XLSX file, one row per product.
- :mod:`.reading`  the uploaded file's rows (CSV or XLSX), with line numbers.
- :mod:`.preview`  what a file would change, stored as a :class:`ProductImport` to confirm.
- :mod:`.planning` an upload's preview planned by a background job, with its progress.
- :mod:`.apply`    confirming a preview: refused if the catalog changed, otherwise applied
                   row by row, stock through the ledger as compare-and-swap.
- :mod:`.jobs`     the background jobs planning an upload and applying a confirmed import.
"""
