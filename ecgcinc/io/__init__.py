"""Reading and writing: Challenge records and headers, users' own ECG files, the Challenge's
output files.  Stands on core only.
"""
