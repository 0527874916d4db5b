"""The object store contract, on the local folder and on S3 over real HTTP (moto's server)."""

import io

import pytest

from doc_pipeline.storage.base import StorageError
from doc_pipeline.storage.local import LocalObjectStore
from doc_pipeline.storage.s3 import S3ObjectStore


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalObjectStore(tmp_path / "store")
    endpoint, bucket = request.getfixturevalue("s3_bucket")
    return S3ObjectStore(bucket, endpoint_url=endpoint, prefix="tenant-a")


def test_put_get_stat_list_delete(store):
    store.put_bytes("raw/a.pdf", b"%PDF-1.7 hello")
    n = store.put_stream("raw/sub/b.png", io.BytesIO(b"\x89PNG" + b"x" * 100_000))
    assert n == 100_004
    assert store.get_bytes("raw/a.pdf") == b"%PDF-1.7 hello"
    assert store.get_range("raw/a.pdf", 0, 4) == b"%PDF"
    info = store.stat("raw/sub/b.png")
    assert info.size == 100_004 and info.etag and info.last_modified > 0
    assert store.stat("raw/missing.pdf") is None
    assert [o.key for o in store.list("raw/")] == ["raw/a.pdf", "raw/sub/b.png"]
    store.put_bytes("raw/a.pdf", b"%PDF-1.7 changed")
    assert store.stat("raw/a.pdf").etag != "" and store.get_bytes("raw/a.pdf").endswith(b"changed")
    assert store.delete_prefix("raw/sub/") == 1
    assert [o.key for o in store.list("raw/")] == ["raw/a.pdf"]
    with pytest.raises(KeyError):
        store.get_bytes("raw/sub/b.png")


def test_rewrite_changes_version(store):
    store.put_bytes("raw/x.pdf", b"one")
    v1 = store.stat("raw/x.pdf").etag
    store.put_bytes("raw/x.pdf", b"two!")
    assert store.stat("raw/x.pdf").etag != v1


def test_download_to(store, tmp_path):
    store.put_bytes("raw/d.bin", b"abc" * 1000)
    dest = tmp_path / "d.bin"
    store.download_to("raw/d.bin", str(dest))
    assert dest.read_bytes() == b"abc" * 1000


def test_local_store_refuses_escaping_keys(tmp_path):
    s = LocalObjectStore(tmp_path / "store")
    with pytest.raises(StorageError):
        s.put_bytes("../outside.txt", b"x")


def test_local_writes_are_atomic(tmp_path):
    s = LocalObjectStore(tmp_path / "store")

    class Exploding(io.BytesIO):
        def read(self, *a):
            data = super().read(*a)
            if not data:
                raise OSError("connection reset")
            return data

    with pytest.raises(StorageError, match="connection reset"):
        s.put_stream("raw/partial.pdf", Exploding(b"x" * 10))
    assert s.stat("raw/partial.pdf") is None and list(s.list("")) == []


def test_s3_presigned_put_works_over_http(s3_bucket):
    import httpx

    endpoint, bucket = s3_bucket
    s = S3ObjectStore(bucket, endpoint_url=endpoint)
    url = s.presign_put("raw/presigned.pdf", content_type="application/pdf")
    r = httpx.put(url, content=b"%PDF-1.4 presigned", headers={"Content-Type": "application/pdf"})
    assert r.status_code == 200
    assert s.get_bytes("raw/presigned.pdf") == b"%PDF-1.4 presigned"


def test_s3_unreachable_is_a_storage_error():
    s = S3ObjectStore("nope", endpoint_url="http://127.0.0.1:9", max_attempts=2, connect_timeout=0.5)
    with pytest.raises(StorageError):
        s.put_bytes("raw/a.pdf", b"x")
