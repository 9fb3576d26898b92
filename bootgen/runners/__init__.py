"""Backends that boot an image and capture its serial output."""
