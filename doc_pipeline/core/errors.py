"""Typed input errors (OCRmyPDF style): each carries a short code and a sentence a person can act on."""


class DocumentError(Exception):
    """A problem with the document itself: retrying will not help."""

    code = "invalid_document"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


class UnsupportedFormatError(DocumentError):
    code = "unsupported_format"


class EmptyDocumentError(DocumentError):
    code = "empty_document"


class CorruptDocumentError(DocumentError):
    code = "corrupt_document"


class EncryptedDocumentError(DocumentError):
    code = "encrypted_document"


class LimitExceededError(DocumentError):
    code = "limit_exceeded"
