"""S3 blob store (AWS, MinIO, R2, moto) through aiobotocore."""

from adapters.s3.blob_store import MIN_PART_SIZE, S3BlobStore

__all__ = ["MIN_PART_SIZE", "S3BlobStore"]
