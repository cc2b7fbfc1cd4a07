"""The desktop Excel ribbon add-in: built from xlwings' template and installed per machine."""
