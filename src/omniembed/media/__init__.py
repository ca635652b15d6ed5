"""Decoding and fetching untrusted media (images, videos, URLs). No model code here."""
