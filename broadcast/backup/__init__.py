"""`loaxa backup` and `loaxa restore`: one archive with the database, the media store, the keys and a manifest.

manifest.py describes and checks the archive's contents, archive.py writes and verifies the tar, database_dump.py
dumps and restores each engine, files.py chooses what of the data dir is kept, and service.py puts them together.
"""
from broadcast.backup.manifest import BackupError

__all__ = ["BackupError"]
