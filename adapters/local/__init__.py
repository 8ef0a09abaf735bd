"""Filesystem blob store for the embedded default (files under ``data_dir/media``)."""

from adapters.local.blob_store import LocalBlobStore

__all__ = ["LocalBlobStore"]
