"""OCR engines behind one small interface, picked by name (see registry)."""

from doc_pipeline.core.ocr.base import OcrEngine, OcrWord, get_engine, register_engine

__all__ = ["OcrEngine", "OcrWord", "get_engine", "register_engine"]
