"""Files: atomic Parquet and text I/O with metadata, pyarrow schemas, hashing,
the resume journal, provenance."""
